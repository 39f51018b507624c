import { expect, test } from "bun:test";
import { bypasses, proxyForUrl } from "../../../lib/images/proxy-for-url.ts";

test.each([
  { name: "no proxy without variables", url: "https://example.org/a", env: {}, want: undefined },
  { name: "HTTPS_PROXY for https", url: "https://example.org/a", env: { HTTPS_PROXY: "http://p:3128" }, want: "http://p:3128" },
  { name: "https_proxy before HTTPS_PROXY", url: "https://example.org/a", env: { https_proxy: "http://low:1", HTTPS_PROXY: "http://up:2" }, want: "http://low:1" },
  { name: "HTTP_PROXY for http only", url: "https://example.org/a", env: { HTTP_PROXY: "http://p:3128" }, want: undefined },
  { name: "http_proxy for http", url: "http://example.org/a", env: { http_proxy: "http://p:3128" }, want: "http://p:3128" },
  { name: "ALL_PROXY as the fallback", url: "http://example.org/a", env: { ALL_PROXY: "http://all:1" }, want: "http://all:1" },
  { name: "a scheme added to a bare host:port", url: "http://example.org/a", env: { HTTP_PROXY: "p:3128" }, want: "http://p:3128" },
  { name: "no proxy for 127.0.0.1", url: "http://127.0.0.1:8080/a", env: { HTTP_PROXY: "http://p:3128" }, want: undefined },
  { name: "no proxy for localhost", url: "http://localhost/a", env: { HTTP_PROXY: "http://p:3128" }, want: undefined },
  { name: "no proxy for [::1]", url: "http://[::1]:80/a", env: { HTTP_PROXY: "http://p:3128" }, want: undefined },
  { name: "no proxy for a NO_PROXY domain", url: "https://cloud.debian.org/a", env: { HTTPS_PROXY: "http://p:3128", NO_PROXY: "debian.org" }, want: undefined },
  { name: "no_proxy before NO_PROXY", url: "https://cloud.debian.org/a", env: { HTTPS_PROXY: "http://p:3128", no_proxy: "debian.org", NO_PROXY: "other" }, want: undefined },
])("proxyForUrl() gives $name", ({ url, env, want }) => {
  expect(proxyForUrl(url, env)).toBe(want);
});

test.each([
  { noProxy: "*", host: "a.b", port: "443", want: true },
  { noProxy: "example.org", host: "example.org", port: "443", want: true },
  { noProxy: "example.org", host: "cdn.example.org", port: "443", want: true },
  { noProxy: ".example.org", host: "cdn.example.org", port: "443", want: true },
  { noProxy: "*.example.org", host: "example.org", port: "443", want: true },
  { noProxy: "example.org", host: "badexample.org", port: "443", want: false },
  { noProxy: "a.com, example.org:8080", host: "example.org", port: "443", want: false },
  { noProxy: "a.com example.org:8080", host: "example.org", port: "8080", want: true },
  { noProxy: "10.0.0.0/8", host: "10.1.2.3", port: "80", want: true },
  { noProxy: "10.0.0.0/8", host: "11.1.2.3", port: "80", want: false },
  { noProxy: "192.168.1.7", host: "192.168.1.7", port: "80", want: true },
  { noProxy: "[fd00::1]:80", host: "fd00::1", port: "80", want: true },
  { noProxy: "fd00::1", host: "fd00::1", port: "80", want: true },
  { noProxy: "", host: "a.b", port: "80", want: false },
])("bypasses($noProxy) for $host:$port is $want", ({ noProxy, host, port, want }) => {
  expect(bypasses(noProxy, host, port)).toBe(want);
});

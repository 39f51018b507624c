# Homebrew formula for den, for a tap (a repository named homebrew-<tap> holding Formula/den.rb).
# The @…@ values are filled by scripts/release.ts, which writes the finished formula beside the release files.
class Den < Formula
  desc "Lima-compatible Linux virtual machines in one binary"
  homepage "@HOMEPAGE@"
  url "@URL@"
  sha256 "@SHA256@"
  license "Apache-2.0"

  depends_on "bun" => :build

  on_macos do
    # Swift compiles the Virtualization.framework helper that the darwin binary embeds.
    depends_on xcode: ["14.0", :build]
  end

  on_linux do
    depends_on "qemu"
  end

  def install
    # The runtime packages are all the build needs; the pinned "bun" dev package would download a second Bun.
    system "bun", "install", "--production"
    target = "#{OS.mac? ? "darwin" : "linux"}-#{Hardware::CPU.arm? ? "arm64" : "x64"}"
    system "bun", "scripts/build.ts", "--target", target
    bin.install "dist/den-#{target}" => "den"
    # den finds the linux runtime of its own arch for the guest agent in share/den/ (a linux den is that runtime itself).
    (share/"den").install Dir["dist/agent/den-guestagent-runtime-bun-*-linux-#{Hardware::CPU.arm? ? "arm64" : "x64"}.zst"] if OS.mac?
    generate_completions_from_executable(bin/"den", "completion")
  end

  def caveats
    on_macos do
      <<~EOS
        den runs VMs with Virtualization.framework (vmType: vz) on macOS 13 and later.
        Only instances with vmType: qemu need QEMU:
          brew install qemu
      EOS
    end
  end

  test do
    assert_match "den version #{version}", shell_output("#{bin}/den --version")
    ENV["DEN_HOME"] = testpath/"den"
    assert_match(/^default\s+\(built-in\)$/, shell_output("#{bin}/den template list"))
  end
end

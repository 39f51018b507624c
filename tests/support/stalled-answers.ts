// The two ways a template server hangs a client that waits for a whole answer: it never answers, or it sends the
// first bytes of a body and then nothing. For the tests of the fetch timeout, in process and through den itself.

export interface StalledAnswer {
  /** Reads after "a server that …". */
  name: string;
  answer: () => Promise<Response>;
}

export const stalledAnswers: StalledAnswer[] = [
  { name: "never answers", answer: () => new Promise<Response>(() => {}) },
  {
    name: "stalls after the first bytes of the body",
    answer: async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("cpus: "));
          },
        }),
      ),
  },
];

/** Resolves once `condition` holds (checked every 10 ms), for effects sent without waiting (客服 messages); fails after timeoutMs. */
export async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

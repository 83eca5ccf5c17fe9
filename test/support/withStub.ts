/** Replaces `object[method]` for the duration of `body` (an own property shadowing the prototype's). */
export async function withStub<T extends object>(
  object: T,
  method: keyof T & string,
  stub: (...args: never[]) => unknown,
  body: () => Promise<void>,
): Promise<void> {
  const own = Object.getOwnPropertyDescriptor(object, method);
  Object.defineProperty(object, method, { value: stub, configurable: true, writable: true });
  try {
    await body();
  } finally {
    if (own) Object.defineProperty(object, method, own);
    else delete (object as Record<string, unknown>)[method];
  }
}

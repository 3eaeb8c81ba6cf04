/** Closes a `switch` over a union: a member left unhandled is a compile error. */
export const unreachable = (value: never): never => {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
};

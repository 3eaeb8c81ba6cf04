/** Exit codes of SPEC section 3. Scripts and CI rely on them; the tests import them from here. */
export const EXIT = {
  ok: 0,
  invalid: 1,
  usage: 2,
  failed: 3,
  awaitingApproval: 4,
  locked: 5,
  /**
   * Not in the SPEC's table: writing state failed while a run was going on (a full disk, an I/O
   * error; sysexits EX_IOERR). The run stopped there; its journal holds what was written before
   * and the run can be continued with --resume once the cause is fixed.
   */
  ioError: 74,
  /** Not in the SPEC: restore itself hit a bug (sysexits EX_SOFTWARE). */
  internal: 70,
  sigint: 130,
  sigterm: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

// The real sshd of the end-to-end tests lives with the benchmarks, which start one too.
export { type Sshd, startSshd, TEST_USER } from '../../bench/sshd.js';

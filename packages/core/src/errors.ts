// The error catalogue lives in the kernel (kernel/errors.ts); this path stays for its many importers.
export * from './kernel/errors.js';

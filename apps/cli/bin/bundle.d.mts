// Types of bundle.mjs for the TypeScript that imports it (its test).
export declare const ROOT: string;
export declare function bundleRoot(root?: string): string;
export declare function sha256(path: string): Promise<string>;
export interface Input {
  size: number;
  mtimeMs: number;
  sha256: string;
}
export declare function describeInputs(
  root: string,
  rels: string[],
): Promise<{ inputs: Record<string, Input>; key: string }>;
export declare function setCurrent(root: string, dir: string, inputs: Record<string, Input>): Promise<void>;
export declare function currentBundle(
  root?: string,
): Promise<{ entry: string; why: null } | { entry: null; why: string }>;

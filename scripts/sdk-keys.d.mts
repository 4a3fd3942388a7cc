/** Types of scripts/sdk-keys.mjs, for the unit test that imports it. */
export declare const SDK_KEY_FILES: { typescript: string; python: string; dotnet: string };
export declare function sdkKeyFiles(config: { licenseKeys?: { keys?: Array<Record<string, unknown>> } }): {
  typescript: string;
  python: string;
  dotnet: string;
};

// The benchmarks time with the same interleaved loop the CLI uses for its speed reports.
export * from '../codegen/timing.js';

// Quality evaluation: what a transformation cost. Perplexity for causal language models,
// output differences for anything else.

export { compareOutputs, difference, type OutputDifference } from './compare.js';
export { perplexity, type PerplexityOptions, type PerplexityResult } from './perplexity.js';

// Imported first by the benchmarks: compile every wasm function with the optimizing tier
// (TurboFan) up front. V8's default starts with the baseline compiler (Liftoff) and tiers up
// in the background; on two busy cores some kernels were still timed in Liftoff after dozens
// of calls, which measures V8's scheduling, not the code. Steady state is what we compare.

import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-liftoff');

// Emission of the CNN kernels (codegen/cnn-kernels.ts): one function per specialization,
// called with the byte addresses of the kernel's inputs, then its output.

import type { CnnKernel } from '../cnn-kernels.js';
import { emitActivation, emitChannelScale } from './kernels/activation.js';
import { emitConv2d, emitPad2d } from './kernels/conv.js';
import { emitPointwise } from './kernels/conv1x1.js';
import { emitSparseConv2d } from './kernels/sparse-conv.js';
import { emitGlobalAveragePool } from './kernels/pool.js';
import type { WasmModule } from './module.js';

export function emitCnnKernel(m: WasmModule, name: string, k: CnnKernel): void {
  switch (k.op) {
    case 'pad2d': return emitPad2d(m, name, k);
    case 'conv2d': return emitConv2d(m, name, k);
    case 'sparse-conv2d': return emitSparseConv2d(m, name, k);
    case 'pointwise': return emitPointwise(m, name, k);
    case 'activation': return emitActivation(m, name, k);
    case 'channel-scale': return emitChannelScale(m, name, k);
    case 'global-avg-pool': return emitGlobalAveragePool(m, name, k);
  }
}

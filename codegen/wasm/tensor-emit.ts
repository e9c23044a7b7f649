// Emission of the tensor-op kernels (codegen/tensor-kernels.ts): one function per
// specialization, called with the byte addresses of the kernel's inputs, then its output.

import type { TensorKernel } from '../tensor-kernels.js';
import { emitBatchMatMul } from './kernels/batch-matmul.js';
import { emitBlockCopy, emitGather, emitStrided } from './kernels/movement.js';
import { emitNorm } from './kernels/norm.js';
import { emitSoftmax } from './kernels/softmax.js';
import { emitBinary, emitMap, emitWhere } from './kernels/pointwise.js';
import { emitRowSum, emitScatterRows, emitTopK } from './kernels/routing.js';
import type { WasmModule } from './module.js';

export function emitTensorKernel(m: WasmModule, name: string, k: TensorKernel): void {
  switch (k.op) {
    case 'topk': return emitTopK(m, name, k.rows, k.cols, k.k, k.indices);
    case 'row-sum': return emitRowSum(m, name, k.rows, k.cols);
    case 'scatter-rows': return emitScatterRows(m, name, k.rows, k.cols, k.k);
    case 'norm': return emitNorm(m, name, k);
    case 'softmax': return emitSoftmax(m, name, k);
    case 'batch-matmul': return emitBatchMatMul(m, name, k);
    case 'gather': return emitGather(m, name, k.count, k.rows, k.cols);
    case 'block-copy': return emitBlockCopy(m, name, k);
    case 'strided': return emitStrided(m, name, k.shape, k.inStrides);
    case 'binary': return emitBinary(m, name, k);
    case 'where': return emitWhere(m, name, k.size);
    case 'map': return emitMap(m, name, k.size, k.fn);
  }
}

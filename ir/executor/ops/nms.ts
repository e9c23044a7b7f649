// NonMaxSuppression (opset 11..21): per batch and class, greedily keep the highest-scoring
// boxes, dropping every box whose IoU with an already kept box exceeds iou_threshold.
// Output rows are [batch, class, box], batches outer, classes inner, each class's boxes in the
// order they were selected (as onnxruntime and the ONNX reference produce them).

import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { Tensor } from '../../tensor.js';
import { floatData } from '../numeric.js';
import { shapeMismatch } from '../util.js';

/** A box as its min/max corners, whichever corner order or center form it came in. */
interface Box {
  readonly y1: number;
  readonly x1: number;
  readonly y2: number;
  readonly x2: number;
}

function readBox(data: ArrayLike<number>, at: number, centerPointBox: boolean): Box {
  const a = data[at]!;
  const b = data[at + 1]!;
  const c = data[at + 2]!;
  const d = data[at + 3]!;
  if (centerPointBox) {
    // [x_center, y_center, width, height]
    return { x1: a - c / 2, x2: a + c / 2, y1: b - d / 2, y2: b + d / 2 };
  }
  // [y1, x1, y2, x2] with either diagonal pair.
  return { y1: Math.min(a, c), y2: Math.max(a, c), x1: Math.min(b, d), x2: Math.max(b, d) };
}

const area = (b: Box): number => (b.y2 - b.y1) * (b.x2 - b.x1);

/** Whether IoU(a, b) > threshold; boxes that do not overlap never suppress each other. */
function overlapsTooMuch(a: Box, b: Box, threshold: number): boolean {
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  if (h <= 0 || w <= 0) return false;
  const inter = h * w;
  const union = area(a) + area(b) - inter;
  if (union <= 0) return false;
  return inter / union > threshold;
}

const optionalScalar = (t: Tensor | undefined, def: number): number => (t && t.size > 0 ? t.get(0) : def);

const nonMaxSuppression: OpDef = {
  op: Op.NonMaxSuppression,
  infer(node, [boxes, scores], ctx) {
    const b = boxes?.shape;
    const s = scores?.shape;
    if (b && b.length !== 3) shapeMismatch(node, `boxes must be 3-D [batches, boxes, 4], got rank ${b.length}`);
    if (s && s.length !== 3) shapeMismatch(node, `scores must be 3-D [batches, classes, boxes], got rank ${s.length}`);
    if (b && typeof b[2] === 'number' && b[2] !== 4) shapeMismatch(node, `boxes must end in a dim of 4, got ${b[2]}`);
    return [{ dtype: 'int64', shape: [ctx.freshDim('nms'), 3] }];
  },
  run(node, [boxesT, scoresT, maxT, iouT, scoreThresholdT]) {
    const boxes = boxesT!;
    const scores = scoresT!;
    const [batches, spatial] = boxes.shape as [number, number, number];
    const [scoreBatches, classes, scoreSpatial] = scores.shape as [number, number, number];
    if (boxes.rank !== 3 || boxes.shape[2] !== 4) shapeMismatch(node, `boxes must have shape [batches, boxes, 4], got [${boxes.shape.join(',')}]`);
    if (scores.rank !== 3 || scoreBatches !== batches || scoreSpatial !== spatial) {
      shapeMismatch(node, `scores [${scores.shape.join(',')}] do not match boxes [${boxes.shape.join(',')}]`);
    }
    const maxPerClass = optionalScalar(maxT, 0);
    const iouThreshold = optionalScalar(iouT, 0);
    const scoreThreshold = optionalScalar(scoreThresholdT, -Infinity);
    const centerPointBox = node.attrInt('center_point_box', 0) === 1;
    const boxData = floatData(boxes);
    const scoreData = floatData(scores);
    const selected: number[] = [];
    for (let n = 0; n < batches; n++) {
      const all = Array.from({ length: spatial }, (_, i) => readBox(boxData, (n * spatial + i) * 4, centerPointBox));
      for (let c = 0; c < classes; c++) {
        const base = (n * classes + c) * spatial;
        // Candidates above the score threshold, best first; equal scores keep the lower index first.
        const order = Array.from({ length: spatial }, (_, i) => i)
          .filter((i) => scoreData[base + i]! > scoreThreshold)
          .sort((i, j) => scoreData[base + j]! - scoreData[base + i]! || i - j);
        const kept: number[] = [];
        for (const i of order) {
          if (kept.length >= maxPerClass) break;
          if (kept.some((k) => overlapsTooMuch(all[k]!, all[i]!, iouThreshold))) continue;
          kept.push(i);
          selected.push(n, c, i);
        }
      }
    }
    return [Tensor.int64(selected, [selected.length / 3, 3])];
  },
};

export const nmsDefs: OpDef[] = [nonMaxSuppression];

import { describe, expect, it } from 'vitest';
import { f32, i64, nums, run1 } from './helpers.js';

// Rows of the result: [batch, class, box].
const rows = (t: ReturnType<typeof run1>) => {
  const v = nums(t);
  return Array.from({ length: v.length / 3 }, (_, i) => v.slice(3 * i, 3 * i + 3));
};

describe('NonMaxSuppression', () => {
  // Boxes 0 and 1 overlap with IoU 0.9 / 1.1 = 0.82; box 2 is far away.
  const boxes = f32([0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 10, 1, 11], [1, 3, 4]);
  const scores = f32([0.9, 0.8, 0.7, 0.1, 0.95, 0.5], [1, 2, 3]);

  it('suppresses overlaps per class, best score first, up to the limit', () => {
    const y = run1('NonMaxSuppression', [boxes, scores, i64([2]), f32([0.5])]);
    expect(y.dtype).toBe('int64');
    expect(rows(y)).toEqual([[0, 0, 0], [0, 0, 2], [0, 1, 1], [0, 1, 2]]);
    // An IoU threshold above 0.82 keeps box 1 in class 0.
    expect(rows(run1('NonMaxSuppression', [boxes, scores, i64([3]), f32([0.9])]))).toEqual([
      [0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 1], [0, 1, 2], [0, 1, 0],
    ]);
  });

  it('drops boxes at or below the score threshold', () => {
    const y = run1('NonMaxSuppression', [boxes, scores, i64([3]), f32([0.5]), f32([0.7])]);
    expect(rows(y)).toEqual([[0, 0, 0], [0, 1, 1]]);
  });

  it('selects nothing without max_output_boxes_per_class', () => {
    const y = run1('NonMaxSuppression', [boxes, scores]);
    expect(y.shape).toEqual([0, 3]);
  });

  it('reads flipped corners and center-point boxes as the same boxes', () => {
    const flipped = f32([1, 1, 0, 0, 1, 1.1, 0, 0.1, 1, 11, 0, 10], [1, 3, 4]);
    expect(rows(run1('NonMaxSuppression', [flipped, scores, i64([2]), f32([0.5])]))).toEqual([[0, 0, 0], [0, 0, 2], [0, 1, 1], [0, 1, 2]]);
    // [x_center, y_center, width, height] of the same three boxes.
    const centers = f32([0.5, 0.5, 1, 1, 0.6, 0.5, 1, 1, 10.5, 0.5, 1, 1], [1, 3, 4]);
    const y = run1('NonMaxSuppression', [centers, scores, i64([2]), f32([0.5])], { center_point_box: 1 });
    expect(rows(y)).toEqual([[0, 0, 0], [0, 0, 2], [0, 1, 1], [0, 1, 2]]);
  });

  it('breaks score ties by the lower box index, batch by batch', () => {
    const same = f32([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1], [2, 2, 4]);
    const tied = f32([0.5, 0.5, 0.2, 0.6], [2, 1, 2]);
    expect(rows(run1('NonMaxSuppression', [same, tied, i64([5]), f32([0.5])]))).toEqual([[0, 0, 0], [1, 0, 1]]);
  });
});

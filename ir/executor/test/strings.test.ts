import { describe, expect, it } from 'vitest';
import type { AttrInput } from '../../builder.js';
import { Tensor } from '../../tensor.js';
import { codeOf, nums, run1, runOp, typed } from './helpers.js';
import { inferOne as infer } from './infer-helper.js';

const str = (values: string[], shape: number[] = [values.length]) => new Tensor('string', shape, values);


describe('StringNormalizer', () => {
  it('removes stopwords case-insensitively, then changes case', () => {
    const y = run1('StringNormalizer', [str(['Monday', 'tuesday', 'MONDAY', 'Wednesday'], [1, 4])], {
      stopwords: ['monday'],
      case_change_action: 'UPPER',
    });
    expect(y.shape).toEqual([1, 2]);
    expect(y.data).toEqual(['TUESDAY', 'WEDNESDAY']);
  });
  it('matches case-sensitively when asked and leaves one empty string when all go', () => {
    const x = str(['Monday', 'monday']);
    expect(run1('StringNormalizer', [x], { stopwords: ['monday'], is_case_sensitive: 1, case_change_action: 'LOWER' }).data).toEqual(['monday']);
    const none = run1('StringNormalizer', [x], { stopwords: ['monday'] });
    expect(none.shape).toEqual([1]);
    expect(none.data).toEqual(['']);
  });
  it('rejects locales other than en_US', () => {
    expect(codeOf(() => infer('StringNormalizer', [{ dtype: 'string', shape: [2] }], { locale: 'tr_TR' }))).toBe('UNSUPPORTED_OP');
  });
});

describe('StringConcat and StringSplit', () => {
  it('concatenates with broadcasting', () => {
    const y = run1('StringConcat', [str(['a', 'bc'], [2, 1]), str(['x', '', 'é'], [1, 3])]);
    expect(y.shape).toEqual([2, 3]);
    expect(y.data).toEqual(['ax', 'a', 'aé', 'bcx', 'bc', 'bcé']);
  });
  it('splits on a delimiter with maxsplit, padding with empty strings', () => {
    const [y, n] = runOp('StringSplit', [str(['a,b,,c', 'x', ''])], { delimiter: ',', maxsplit: 2 }, 2);
    expect(y!.shape).toEqual([3, 3]);
    expect(y!.data).toEqual(['a', 'b', ',c', 'x', '', '', '', '', '']);
    expect(n!.dtype).toBe('int64');
    expect(nums(n!)).toEqual([3, 1, 1]);
  });
  it('splits on whitespace runs when no delimiter is given (as Python str.split)', () => {
    const [y, n] = runOp('StringSplit', [str(['  hello  big world ', '   '], [2])], {}, 2);
    expect(y!.data).toEqual(['hello', 'big', 'world', '', '', '']);
    expect(nums(n!)).toEqual([3, 0]);
    const [r] = runOp('StringSplit', [str([' a  b c  '])], { maxsplit: 1 }, 2);
    expect(r!.data).toEqual(['a', 'b c  ']);
  });
});

describe('RegexFullMatch', () => {
  const match = (pattern: string, xs: string[]) => nums(run1('RegexFullMatch', [str(xs)], { pattern }));
  it('matches whole strings only', () => {
    expect(match('\\w+@\\w+\\.com', ['a@b.com', 'a@b.co', 'x a@b.com', 'a@b.com\n'])).toEqual([1, 0, 0, 0]);
    expect(match('ab|abc', ['abc', 'ab'])).toEqual([1, 1]);
  });
  it('reads RE2 spellings: leading flags, POSIX classes, \\Q..\\E, named groups, \\x{..}', () => {
    expect(match('(?i)www\\.[a-z]+\\.COM', ['WWW.Example.com', 'www.x.org'])).toEqual([1, 0]);
    expect(match('[[:digit:]_]+-[[:upper:]]', ['12_3-Q', '12-q'])).toEqual([1, 0]);
    expect(match('\\Qa.b*\\E', ['a.b*', 'axb'])).toEqual([1, 0]);
    expect(match('(?P<year>\\d{4})-\\x{41}', ['2024-A', '24-A'])).toEqual([1, 0]);
    expect(match('a\\#b\\:c', ['a#b:c'])).toEqual([1]);
  });
  it('keeps RE2 meanings of . and \\s', () => {
    expect(match('a.b', ['a\rb', 'a\nb'])).toEqual([1, 0]);
    expect(match('a\\sb', ['a b', 'a\vb'])).toEqual([1, 0]);
  });
  it('rejects syntax RE2 does not have', () => {
    const infers = (pattern: string) => codeOf(() => infer('RegexFullMatch', [{ dtype: 'string', shape: [1] }], { pattern }));
    expect(infers('(a)\\1')).toBe('UNSUPPORTED_OP');
    expect(infers('a(?=b)')).toBe('UNSUPPORTED_OP');
    expect(infers('a(?i)b')).toBe('UNSUPPORTED_OP');
    expect(infers('(unclosed')).toBe('UNSUPPORTED_OP');
    expect(infers('[a-z]+')).toBeUndefined();
  });
});

describe('TfIdfVectorizer', () => {
  // The ONNX example: unigrams 2 3 5 4, bigrams (5,6) (7,8) (6,7), one output column each.
  const pool = { ngram_counts: [0, 4], ngram_indexes: [0, 1, 2, 3, 4, 5, 6], pool_int64s: [2, 3, 5, 4, 5, 6, 7, 8, 6, 7] };
  const x = typed('int32', [1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8]);
  const attrs = (extra: Record<string, AttrInput>) => ({ ...pool, min_gram_length: 1, max_gram_length: 2, max_skip_count: 0, mode: 'TF', ...extra });

  it('counts unigrams and bigrams', () => {
    const y = run1('TfIdfVectorizer', [x], attrs({}));
    expect(y.dtype).toBe('float32');
    expect(nums(y)).toEqual([0, 3, 1, 0, 1, 1, 1]);
  });
  it('counts skip-grams, unigrams only once', () => {
    // With skips up to 5, (7,8) occurs at positions 5-6, 5-11 and 8-11.
    expect(nums(run1('TfIdfVectorizer', [x], attrs({ max_skip_count: 5 })))).toEqual([0, 3, 1, 0, 1, 3, 1]);
    expect(nums(run1('TfIdfVectorizer', [x], attrs({ min_gram_length: 2, max_skip_count: 5 })))).toEqual([0, 0, 0, 0, 1, 3, 1]);
  });
  it('weighs by IDF and TFIDF', () => {
    const weights = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
    const idf = nums(run1('TfIdfVectorizer', [x], attrs({ mode: 'IDF', weights })));
    idf.forEach((v, i) => expect(v).toBeCloseTo([0, 0.2, 0.3, 0, 0.5, 0.6, 0.7][i]!, 6));
    const tfidf = nums(run1('TfIdfVectorizer', [x], attrs({ mode: 'TFIDF', weights })));
    tfidf.forEach((v, i) => expect(v).toBeCloseTo([0, 0.6, 0.3, 0, 0.5, 0.6, 0.7][i]!, 6));
  });
  it('works row by row on [N, C] strings', () => {
    const s = str(['a', 'b', 'a', 'b', 'b', 'b'], [2, 3]);
    const y = run1('TfIdfVectorizer', [s], {
      ngram_counts: [0, 2], ngram_indexes: [1, 0, 2], pool_strings: ['a', 'b', 'a', 'b'],
      min_gram_length: 1, max_gram_length: 2, max_skip_count: 0, mode: 'TF',
    });
    expect(y.shape).toEqual([2, 3]);
    // Row 1: a b a -> a:2 b:1 (a,b):1; row 2: b b b -> b:3. Columns: b, a, (a,b).
    expect(nums(y)).toEqual([1, 2, 1, 3, 0, 0]);
    expect(infer('TfIdfVectorizer', [{ dtype: 'int64', shape: ['n', 5] }], attrs({}))[0]!.shape).toEqual(['n', 7]);
  });
});

#!/usr/bin/python3
"""Generates the fixture models under fixtures/ and the quick-start example under examples/.

Run from the repository root with Debian's python (torch 1.13, onnx 1.12):

    /usr/bin/python3 scripts/make_fixtures.py [name ...]

CI does not run this: its outputs are committed. It trains the byte-level language models
briefly (about 6 minutes on 2 idle cores; much longer on a loaded machine) on the license
texts of Debian's base-files package (see fixtures/common.py), so that perplexity measured
on held-out text means something.

Each fixtures/<name>/ holds:
  model.onnx                 exported with symbolic batch/sequence (or H/W) dims
  input_<name>.npy           sample inputs (npy v1.0, little-endian)
  output_<name>.npy          torch's outputs for them (float32)
  shape2/input_*.npy, shape2/output_*.npy   the same for a second input shape
  meta.json                  config, opset, ops used, and for language models corpus/steps/perplexity
  eval_tokens.npy            (language models) int64 [N, 65] windows of held-out text
  calib_tokens.npy           (language models) int64 [N, 65] windows of training text
"""

import collections
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fixtures import common  # noqa: E402
from fixtures.bert import Bert  # noqa: E402
from fixtures.gpt2 import GPT2  # noqa: E402
from fixtures.llama import make_llama  # noqa: E402
from fixtures.mobilenet import MobileNet  # noqa: E402
from fixtures.moe import balance_loss_fn, make_moe, routing_counts  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, 'fixtures')
EXAMPLES = os.path.join(ROOT, 'examples')
LM_AXES = {'input_ids': {0: 'batch', 1: 'sequence'}, 'logits': {0: 'batch', 1: 'sequence'}}
EVAL_WINDOWS = 128
CALIB_WINDOWS = 128


class Corpus:
    def __init__(self):
        self.train, self.held_out, self.info = common.load_corpus()
        rng = np.random.default_rng(7)
        window = common.SEQ_LEN + 1
        self.eval_tokens = common.consecutive_windows(self.held_out, window, EVAL_WINDOWS)
        self.calib_tokens = common.windows(self.train, CALIB_WINDOWS, window, rng)
        # Sample inputs: held-out text, so they are not memorized training windows.
        self.sample = self.eval_tokens[:2, :16].copy()
        self.sample2 = self.eval_tokens[2:3, 5:28].copy()


def lm_fixture(name, model, corpus, steps, opset, lr=3e-3, aux_loss=None, extra_meta=None):
    folder = os.path.join(FIXTURES, name)
    os.makedirs(folder, exist_ok=True)
    print(f'{name}: {common.parameter_count(model)} parameters, training {steps} steps', flush=True)
    ppl_before = common.perplexity(model, corpus.eval_tokens)
    common.train_lm(model, corpus.train, steps, lr=lr, aux_loss=aux_loss, name=name)
    ppl = common.perplexity(model, corpus.eval_tokens)
    print(f'  [{name}] held-out perplexity {ppl_before:.2f} -> {ppl:.3f}', flush=True)
    path = os.path.join(folder, 'model.onnx')
    ops = common.export(model, (torch.from_numpy(corpus.sample),), path, ['input_ids'], ['logits'], LM_AXES, opset)
    common.write_samples(model, folder, {'input_ids': corpus.sample}, ['logits'])
    common.write_samples(model, os.path.join(folder, 'shape2'), {'input_ids': corpus.sample2}, ['logits'])
    common.save_npy(os.path.join(folder, 'eval_tokens.npy'), corpus.eval_tokens)
    common.save_npy(os.path.join(folder, 'calib_tokens.npy'), corpus.calib_tokens)
    meta = {
        'name': name, 'opset': opset, 'config': model.config, 'parameters': common.parameter_count(model),
        'ops': ops, 'inputs': {'input_ids': 'int64 [batch, sequence], bytes 0..255'},
        'outputs': {'logits': 'float32 [batch, sequence, 256]'},
        'corpus': corpus.info,
        'training': {'steps': steps, 'batch': 32, 'seq_len': common.SEQ_LEN, 'optimizer': 'AdamW',
                     'lr': lr, 'schedule': 'linear warmup 10% + cosine', 'seed': 0},
        'eval_tokens': 'int64 [%d, %d]: consecutive windows of the held-out files' % corpus.eval_tokens.shape,
        'calib_tokens': 'int64 [%d, %d]: random windows of the training files' % corpus.calib_tokens.shape,
        'perplexity': {'held_out': round(ppl, 4), 'untrained': round(ppl_before, 4),
                       'definition': 'exp(mean cross-entropy of window[:, 1:] given window[:, :-1], '
                                     'over all positions of eval_tokens), measured by torch'},
        **(extra_meta or {}),
    }
    common.write_meta(folder, meta)
    return model, meta


def bert_fixture():
    folder = os.path.join(FIXTURES, 'bert')
    model = Bert().eval()
    rng = np.random.default_rng(11)

    def sample(batch, seq, pad):
        ids = rng.integers(0, 256, size=(batch, seq)).astype(np.int64)
        mask = np.ones((batch, seq), dtype=np.int64)
        types = np.zeros((batch, seq), dtype=np.int64)
        types[:, seq // 2:] = 1
        for b, n in enumerate(pad):
            if n:
                mask[b, -n:] = 0
        return collections.OrderedDict(input_ids=ids, attention_mask=mask, token_type_ids=types)

    first, second = sample(2, 12, [0, 4]), sample(3, 7, [2, 0, 1])
    names = list(first.keys())
    axes = {n: {0: 'batch', 1: 'sequence'} for n in names}
    axes.update({'last_hidden_state': {0: 'batch', 1: 'sequence'}, 'pooler_output': {0: 'batch'}})
    outputs = ['last_hidden_state', 'pooler_output']
    os.makedirs(folder, exist_ok=True)
    ops = common.export(model, tuple(torch.from_numpy(a) for a in first.values()), os.path.join(folder, 'model.onnx'),
                        names, outputs, axes, 17)
    common.write_samples(model, folder, first, outputs)
    common.write_samples(model, os.path.join(folder, 'shape2'), second, outputs)
    common.write_meta(folder, {'name': 'bert', 'opset': 17, 'config': model.config, 'ops': ops,
                               'parameters': common.parameter_count(model)})


def mobilenet_fixture():
    folder = os.path.join(FIXTURES, 'mobilenet')
    model = MobileNet()
    model.calibrate_batchnorm(torch.Generator().manual_seed(5))
    rng = np.random.default_rng(13)
    first = rng.standard_normal((1, 3, 64, 64)).astype(np.float32)
    second = rng.standard_normal((2, 3, 48, 80)).astype(np.float32)
    axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}, 'logits': {0: 'batch'}}
    os.makedirs(folder, exist_ok=True)
    # PRESERVE (with the model in eval mode) exports inference-mode BatchNormalization but skips
    # the eval-only peephole pass that would fold it into the preceding Conv.
    ops = common.export(model, (torch.from_numpy(first),), os.path.join(folder, 'model.onnx'), ['input'], ['logits'],
                        axes, 11, training=torch.onnx.TrainingMode.PRESERVE)
    assert ops.get('BatchNormalization', 0) > 0, 'BatchNormalization was folded away'
    common.write_samples(model, folder, {'input': first}, ['logits'])
    common.write_samples(model, os.path.join(folder, 'shape2'), {'input': second}, ['logits'])
    common.write_meta(folder, {'name': 'mobilenet', 'opset': 11, 'config': model.config, 'ops': ops,
                               'parameters': common.parameter_count(model)})


def tiny_lm_example(corpus):
    """A 2-layer, d_model 32 GPT for the README quick start."""
    folder = os.path.join(EXAMPLES, 'tiny-lm')
    os.makedirs(folder, exist_ok=True)
    model = GPT2(d_model=32, n_layers=2, n_heads=2)
    common.train_lm(model, corpus.train, 300, name='tiny-lm')
    ppl = common.perplexity(model, corpus.eval_tokens)
    print(f'  [tiny-lm] held-out perplexity {ppl:.3f}', flush=True)
    tokens = np.frombuffer(b'This program is free software', dtype=np.uint8).astype(np.int64)[None]
    ops = common.export(model, (torch.from_numpy(tokens),), os.path.join(folder, 'model.onnx'),
                        ['input_ids'], ['logits'], LM_AXES, 17)
    with torch.no_grad():
        logits = model(torch.from_numpy(tokens)).numpy()
    common.save_npy(os.path.join(folder, 'input_ids.npy'), tokens)
    common.save_npy(os.path.join(folder, 'logits.npy'), logits)
    common.write_meta(folder, {'name': 'tiny-lm', 'opset': 17, 'config': model.config, 'ops': ops,
                               'parameters': common.parameter_count(model), 'perplexity_held_out': round(ppl, 4),
                               'corpus': corpus.info['source'], 'training_steps': 300,
                               'input_ids.npy': 'int64 [1, %d]: the bytes of "This program is free software"' % tokens.shape[1],
                               'logits.npy': 'float32 [1, %d, 256]: torch output for input_ids.npy' % tokens.shape[1]})


def main(selected):
    torch.set_num_threads(2)
    corpus = Corpus()
    wanted = lambda name: not selected or name in selected  # noqa: E731
    if wanted('gpt2'):
        torch.manual_seed(0)
        lm_fixture('gpt2', GPT2(), corpus, steps=400, opset=14)
    if wanted('llama'):
        torch.manual_seed(0)
        lm_fixture('llama', make_llama(), corpus, steps=400, opset=17)
    if wanted('moe'):
        torch.manual_seed(0)
        model = make_moe()
        _, meta = lm_fixture('moe', model, corpus, steps=400, opset=17, aux_loss=balance_loss_fn(model))
        meta['routing_counts_calib'] = routing_counts(model, corpus.calib_tokens[:, :-1])
        common.write_meta(os.path.join(FIXTURES, 'moe'), meta)
    if wanted('bert'):
        torch.manual_seed(0)
        bert_fixture()
    if wanted('mobilenet'):
        torch.manual_seed(0)
        mobilenet_fixture()
    if wanted('tiny-lm'):
        torch.manual_seed(0)
        tiny_lm_example(corpus)


if __name__ == '__main__':
    main(set(sys.argv[1:]))

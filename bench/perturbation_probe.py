#!/usr/bin/env python3
"""Looks at crafted Fashion-MNIST training sets from outside the engine (docs/results.md, third ablations).

  bench/perturbation_probe.py probe DIR...                 linear separability of each set's perturbations
  bench/perturbation_probe.py class-consistent SRC DST     a class-consistent variant of SRC, for evaluate --protected
  bench/perturbation_probe.py class-wise SRC DST [CELL]    SRC's clean sources + a random class-wise pattern
  bench/perturbation_probe.py class-targeted SRC DST [CELL [visible|background|smooth]] [targets=TABLE]
                                                           SRC's clean sources + eps * sign(mean of g(y) - mean of y)
  bench/perturbation_probe.py linear DIR...                the simplest appropriator: a linear model trained on each
                                                           set's clean sources and on the set, tested on clean images
  bench/perturbation_probe.py per-class DIR...             each class's perturbation: mean |delta| overall, on the
                                                           black background and on the garment; which class's
                                                           images lie closest to their clean sources
  bench/perturbation_probe.py averaging-attack SRC DST CELL
                                                           SRC with each class's mean shift per CELL x CELL square
                                                           (against clean images from elsewhere) taken off

Not part of the product; needs PyTorch (Debian's python3-torch, so run it with /usr/bin/python3).

DIR, SRC: a crafted set as `evaluate` keeps it (OUT/protected-METHOD-epsE: images/labels IDX, classes.txt) of
Fashion-MNIST training images. The clean source of every protected image is found again by nearest neighbour among
the training images of its label (checked: max |delta| must not exceed eps, read from the folder's name, e.g.
protected-sep-fa-vr-eps16, else 8), so delta = protected - clean.

probe: a multinomial logistic regression on delta alone (no image), 3,000 perturbations to fit, the rest held out.
High held-out accuracy means the perturbations are a linearly separable "shortcut" (Yu et al., KDD 2022).

linear: a multinomial logistic regression on the pixels, fitted once on the recovered clean sources and once on the
protected images, each tested on the 10,000 clean test images: how much of the task a linear learner gets from the
images alone, and whether the perturbation takes it away (what a network learns in its first epochs is close to this).

class-consistent: delta' = clip(delta + eps * sign(mean of delta over the image's class), -eps, eps), then the
image clipped to [0, 255]; same order, labels and classes, so `evaluate --protected DST` with the same --train,
--train-limit and --seed measures it (evaluate checks the order, the labels and max |delta| itself).
An exploratory ablation, not a method of the engine.

class-wise: SRC's clean sources + eps * a random +-1 pattern per class (torch seed 0), constant over CELL x CELL
pixel squares (default 1: pixel-wise; 4 keeps a pattern that an appropriator's 2-pixel shift mostly preserves),
clipped to [0, 255]; written like class-consistent (exploratory: the simplest shortcut, predictive of the label).

class-targeted: like class-wise, but class y's pattern is the sign of the clean sources' class mean of the target
g(y) = (y + K/2) mod K minus that of y, averaged over CELL x CELL squares (default 1): the linear shadow of SEP's
feature alignment. A model that learns it as y's shortcut sees the clean images of g(y) as y; with K/2 as the shift,
g is its own inverse and the patterns of y and g(y) are opposite, so the shortcut should swap the pairs instead of
collapsing onto the least perturbed class (it did not: docs/results.md, tenth ablations). Exploratory, outside the
engine; the class means come from SRC's own sources (the training subset), never from test data. With `visible`,
the sign is +1 wherever more than half of the class's sources are black, so that no class's pattern is clipped away
more than another's. With `background`, every image's own black pixels get +eps whatever its class, so the
background tells no class from another and the pattern lies on the garment alone. With `smooth`, the pattern is
the pooled difference itself scaled to eps at its largest, not its sign: as smooth as the class means, so that a
clean image of g(y) carries much of y's pattern as content. With `targets=TABLE` (evaluate's --targets syntax,
e.g. 0>6,1>3,...: every class once, never to itself) g is that table instead of the half shift (docs/results.md,
fourteenth ablations).

per-class: per class, mean |delta| over all pixels, over the pixels that are 0 in the clean source (background, where
delta can only brighten) and over the rest, and the background's share; then how far apart the class means of y and
g(y) lie against how far the perturbation moves them towards each other (what a network learns in its first epochs
is close to the class means). A model that learnt a class-wise shortcut sees an unperturbed image as the class whose
protected images carry the least of it, most visibly where the clean image is black (docs/results.md, ninth
ablations: the appropriators' collapse class); the mark is on the class with the lowest mean |delta| there.

averaging-attack: an appropriator who knows how `--class-pattern` works and its square size CELL (not the seed) and
has clean images of the same classes from elsewhere (here: the Fashion-MNIST training images that are not sources of
SRC). Per class and CELL x CELL square of the image, the mean of SRC's images minus the mean of those clean images
estimates the class-wise shift (the pattern, and whatever class-consistent part the crafted perturbation has); it is
taken off every image of the class, clipped to [0, 255]; written like class-consistent, so `evaluate --protected DST`
measures what the protection keeps against this appropriator. `evaluate --defenses class-mean:CELL` is the same attack
inside the harness (any set, any method, the clean model under the same attack); this mode stays as its cross-check.
"""
import functools
import gzip
import os
import re
import shutil
import sys

import numpy as np
import torch

FMNIST = '/usr/share/datasets/fashion-mnist/'


def eps_of(crafted):
    """The set's radius in 1/255 from its folder name (evaluate writes protected-METHOD-epsE), else 8."""
    m = re.search(r'eps(\d+(?:\.\d+)?)$', os.path.basename(os.path.normpath(crafted)))
    return float(m.group(1)) if m else 8.0


def idx(path):
    raw = gzip.open(path).read()
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(raw[3])]
    return raw[:4 + 4 * len(dims)], np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


@functools.cache
def test_set():
    """Fashion-MNIST's 10,000 test images (N x 784 floats) and labels."""
    _, x = idx(FMNIST + 't10k-images-idx3-ubyte.gz')
    _, y = idx(FMNIST + 't10k-labels-idx1-ubyte.gz')
    return torch.tensor(x.reshape(len(x), -1), dtype=torch.float32), torch.tensor(y.astype(np.int64))


@functools.cache
def training_set():
    """Fashion-MNIST's 60,000 training images (N x 784 floats) and labels, read once for every set probed."""
    _, x = idx(FMNIST + 'train-images-idx3-ubyte.gz')
    _, y = idx(FMNIST + 'train-labels-idx1-ubyte.gz')
    return torch.tensor(x.reshape(len(x), -1), dtype=torch.float32), torch.tensor(y.astype(np.int64))


def load(crafted):
    """Protected pixels, labels, recovered clean pixels (N x 784 floats in 0..255) and the IDX image header."""
    return load_with_sources(crafted)[:4]


def load_with_sources(crafted):
    """load(), and the index in the training set of every image's clean source."""
    x, y = training_set()
    header, p = idx(crafted + '/images-idx3-ubyte.gz')
    _, labels = idx(crafted + '/labels-idx1-ubyte.gz')
    p = torch.tensor(p.reshape(len(p), -1), dtype=torch.float32)
    labels = torch.tensor(labels.astype(np.int64))
    sources = torch.empty(len(p), dtype=torch.int64)
    for k in labels.unique():
        mine, pool = (labels == k).nonzero().squeeze(1), (y == k).nonzero().squeeze(1)
        sources[mine] = pool[torch.cdist(p[mine], x[pool]).argmin(1)]
    clean = x[sources]
    eps = eps_of(crafted)
    if (p - clean).abs().max() > eps:
        sys.exit(f'{crafted}: no clean source within {eps:g}/255 for some image (not Fashion-MNIST training images?)')
    return p, labels, clean, header, sources


def probe(crafted):
    p, labels, clean, _ = load(crafted)
    delta = (p - clean) / eps_of(crafted)  # in [-1, 1]
    order = torch.randperm(len(p), generator=torch.Generator().manual_seed(0))
    fit, held = order[:3000], order[3000:]
    w = torch.zeros(delta.shape[1], int(labels.max()) + 1, requires_grad=True)
    b = torch.zeros(w.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(delta[fit] @ w + b, labels[fit]) + 1e-4 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    acc = lambda s: ((delta[s] @ w + b).argmax(1) == labels[s]).float().mean().item() * 100
    print(f'{crafted}: {len(p)} images, mean |delta| {(p - clean).abs().mean():.2f}/255; linear probe on delta '
          f'alone: fit {acc(fit):.1f} %, held out {acc(held):.1f} %')


def logistic(x, y, classes):
    """A multinomial logistic regression (L-BFGS, small L2) on x; returns the predictor."""
    w = torch.zeros(x.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + 1e-4 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lambda z: (z @ w + b).argmax(1)


def linear(crafted):
    p, labels, clean, _ = load(crafted)
    tx, ty = test_set()
    classes = int(labels.max()) + 1
    acc = lambda predict: (predict(tx / 255) == ty).float().mean().item() * 100
    on_clean = acc(logistic(clean / 255, labels, classes))
    on_protected = acc(logistic(p / 255, labels, classes))
    print(f'{crafted}: {len(p)} images, eps {eps_of(crafted):g}/255; linear model tested on the clean test set: '
          f'trained on the clean sources {on_clean:.2f} %, on the protected set {on_protected:.2f} %')


def class_means(values, labels, classes):
    """Per class, the mean over its images of VALUES (N x 784): a K x 784 tensor."""
    return torch.stack([values[labels == k].mean(0) for k in range(classes)])


def halfway_targets(classes):
    """The default target map g(y) = (y + K/2) mod K, for every class."""
    return [(k + classes // 2) % classes for k in range(classes)]


def per_class(crafted):
    p, labels, clean, _ = load(crafted)
    delta = (p - clean).abs()
    background = clean == 0
    print(f'{crafted}: {len(p)} images, mean |delta| {delta.mean():.2f}/255')
    rows = []
    for k in labels.unique().tolist():
        mine = labels == k
        d, bg = delta[mine], background[mine]
        rows.append((k, d.mean().item(), d[bg].mean().item(), d[~bg].mean().item(), bg.float().mean().item()))
    least = min(rows, key=lambda r: r[2])[0]
    print('class  mean |delta|  on background  on garment  background share')
    for k, overall, bg, fg, share in rows:
        print(f'{k:5d}  {overall:12.2f}  {bg:13.2f}  {fg:10.2f}  {share:16.2f}' + ('  <- least' if k == least else ''))
    # What an appropriator's first epochs learn is close to the class means: how far apart they are for y and the
    # default target g(y) = (y + K/2) mod K, against how far the perturbation moves them.
    classes = int(labels.max()) + 1
    means = class_means(clean, labels, classes)
    shifts = class_means(p - clean, labels, classes)
    target = halfway_targets(classes)
    gap = torch.stack([(means[k] - means[target[k]]).abs().mean() for k in range(classes)])
    moved = torch.stack([((shifts[k] - shifts[target[k]]) * torch.sign(means[target[k]] - means[k])).mean()
                         for k in range(classes)])
    print(f'class means of y and g(y) = (y + {classes // 2}) mod {classes}: {gap.mean():.1f}/255 apart per pixel on '
          f'average (clean sources); the perturbation moves them {moved.mean():.2f}/255 per pixel towards each other '
          f'(at most 2 eps = {2 * eps_of(crafted):g}/255)')


def write_like(src, dst, header, images):
    """A set in evaluate's layout with SRC's labels and classes, for evaluate --protected."""
    os.makedirs(dst, exist_ok=True)
    with gzip.open(dst + '/images-idx3-ubyte.gz', 'wb') as f:
        f.write(header + images.to(torch.uint8).numpy().tobytes())
    for name in ('labels-idx1-ubyte.gz', 'classes.txt'):
        shutil.copy(os.path.join(src, name), dst)


def class_wise(src, dst, cell=1):
    _, labels, clean, header = load(src)
    eps = eps_of(src)
    side = int(clean.shape[1] ** 0.5)
    cells = -(-side // cell)
    signs = torch.randint(0, 2, (int(labels.max()) + 1, cells, cells), generator=torch.Generator().manual_seed(0))
    signs = signs.repeat_interleave(cell, 1).repeat_interleave(cell, 2)[:, :side, :side].reshape(len(signs), -1)
    pattern = clean + eps * (signs.float() * 2 - 1)[labels]
    images = torch.clamp(pattern, 0, 255).round()
    write_like(src, dst, header, images)
    print(f'{dst}: mean |delta| {(images - clean).abs().mean():.2f}/255, max {(images - clean).abs().max():.0f}/255')


def target_table(table, classes):
    """g from evaluate's --targets syntax, "0>6,1>3,...": every class once, never to itself."""
    entries = table.split(',')
    pairs = dict(tuple(int(v) for v in pair.split('>')) for pair in entries)
    if (len(entries) != classes or sorted(pairs) != list(range(classes))
            or any(k == g or not 0 <= g < classes for k, g in pairs.items())):
        sys.exit(f'targets={table}: every class 0..{classes - 1} once, each to another class')
    return [pairs[k] for k in range(classes)]


def class_targeted(src, dst, cell=1, mode=None, table=None):
    _, labels, clean, header = load(src)
    eps = eps_of(src)
    side = int(clean.shape[1] ** 0.5)
    classes = int(labels.max()) + 1
    means = class_means(clean, labels, classes)
    towards = means[target_table(table, classes) if table else halfway_targets(classes)] - means
    # the difference's mean over each CELL x CELL square (the last ones clipped to the image), then its sign (smooth:
    # the mean itself, scaled so that the largest square gets eps)
    pooled = torch.nn.functional.avg_pool2d(towards.reshape(classes, 1, side, side), cell, ceil_mode=True)
    pooled = pooled.repeat_interleave(cell, 2).repeat_interleave(cell, 3)[:, 0, :side, :side].reshape(classes, -1)
    signs = pooled / pooled.abs().amax(1, keepdim=True) if mode == 'smooth' else torch.sign(pooled)
    if mode == 'visible':
        # +1 wherever most of the class's sources are black: a darkening sign there is clipped away, and the class
        # whose pattern shows least becomes the appropriators' collapse class (ninth ablations)
        black = class_means((clean == 0).float(), labels, classes) > 0.5
        signs = torch.where(black, torch.ones_like(signs), signs)
    delta = eps * signs[labels]
    if mode == 'background':
        delta = torch.where(clean == 0, torch.full_like(delta, eps), delta)
    images = torch.clamp(clean + delta, 0, 255).round()
    write_like(src, dst, header, images)
    print(f'{dst}: mean |delta| {(images - clean).abs().mean():.2f}/255, max {(images - clean).abs().max():.0f}/255')


def class_consistent(src, dst):
    p, labels, clean, header = load(src)
    eps = eps_of(src)
    delta = p - clean
    sign = torch.zeros_like(delta)
    for k in labels.unique():
        mine = (labels == k).nonzero().squeeze(1)
        sign[mine] = torch.sign(delta[mine].mean(0))
    mixed = torch.clamp(clean + torch.clamp(delta + eps * sign, -eps, eps), 0, 255).round()
    write_like(src, dst, header, mixed)
    agree = ((torch.sign(delta) == sign) & (delta != 0)).float().mean().item()
    print(f'{dst}: mean |delta| {delta.abs().mean():.2f} -> {(mixed - clean).abs().mean():.2f}/255, max '
          f'{(mixed - clean).abs().max():.0f}/255; the source agreed with its class sign on {agree * 100:.1f} % of pixels')


def averaging_attack(src, dst, cell):
    p, labels, clean, header, sources = load_with_sources(src)
    x, y = training_set()
    elsewhere = torch.ones(len(x), dtype=torch.bool)
    elsewhere[sources] = False
    side = int(p.shape[1] ** 0.5)
    cells = -(-side // cell)
    rows = torch.arange(side) // cell
    square = (rows[:, None] * cells + rows[None, :]).reshape(-1)  # each pixel's square
    per_square = torch.bincount(square, minlength=cells * cells).float()
    attacked = p.clone()
    shifts = []
    for k in labels.unique():
        mine = labels == k
        diff = p[mine].mean(0) - x[elsewhere & (y == k)].mean(0)
        shift = torch.zeros(cells * cells).index_add_(0, square, diff) / per_square
        attacked[mine] -= shift[square]
        shifts.append(shift)
    images = torch.clamp(attacked, 0, 255).round()
    write_like(src, dst, header, images)
    shifts = torch.stack(shifts)
    print(f'{dst}: estimated shifts per class and square: mean |shift| {shifts.abs().mean():.2f}/255, max '
          f'{shifts.abs().max():.2f}/255; |protected - clean| mean {(p - clean).abs().mean():.2f} -> '
          f'{(images - clean).abs().mean():.2f}/255, max {(p - clean).abs().max():.0f} -> '
          f'{(images - clean).abs().max():.0f}/255')


if __name__ == '__main__':
    torch.set_num_threads(1)
    if len(sys.argv) >= 3 and sys.argv[1] == 'probe':
        for d in sys.argv[2:]:
            probe(d)
    elif len(sys.argv) >= 3 and sys.argv[1] == 'linear':
        for d in sys.argv[2:]:
            linear(d)
    elif len(sys.argv) >= 3 and sys.argv[1] == 'per-class':
        for d in sys.argv[2:]:
            per_class(d)
    elif len(sys.argv) == 4 and sys.argv[1] == 'class-consistent':
        class_consistent(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == 'averaging-attack':
        averaging_attack(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) in (4, 5) and sys.argv[1] == 'class-wise':
        class_wise(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) == 5 else 1)
    elif sys.argv[1:2] == ['class-targeted']:
        args = [a for a in sys.argv[2:] if not a.startswith('targets=')]
        tables = [a[len('targets='):] for a in sys.argv[2:] if a.startswith('targets=')]
        modes = ([], ['visible'], ['background'], ['smooth'])
        if len(args) not in (2, 3, 4) or args[3:] not in modes or len(tables) > 1:
            sys.exit(__doc__)
        class_targeted(args[0], args[1], int(args[2]) if len(args) >= 3 else 1, args[3] if len(args) == 4 else None,
                       tables[0] if tables else None)
    else:
        sys.exit(__doc__)

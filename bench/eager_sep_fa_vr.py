#!/usr/bin/env python3
"""SEP-FA-VR (Algorithm 1) in plain PyTorch eager mode: a reference benchmark, not part of the product.

It exists for issue 12's target "engine >= 1.5x the PyTorch-eager figure": run it next to
`./sep-shield bench` on the same machine, in one session, and compare images/s. It mirrors
io.sepshield.sep.Protector on the project's resnet8 (io.sepshield.model.ResNets.cifar(1)) with n random-weight
checkpoints (eval mode, frozen), random class centers, random images and random target classes:
  loss L_k(x) = sum over the batch of mean_j (f_k(x)_j - c_k[g(y)]_j)^2   (penultimate features f_k)
  per outer step t: g_k = grad L_k(x_t) for all k; g_ens = mean_k g_k; g_upd = 0; x^ = x_t;
    M times: k random; g_upd += grad L_k(x^) - (g_k - g_ens); x^ = P(x^ - a sign g_upd)
    x_{t+1} = P(x_t - a sign g_upd)            P: projection to the eps-ball around x_0 and to [0, 1]
Variants: "straightforward" evaluates grad L_k(x^) at m = 0 as written (T(n+M) passes per image);
"reuse" takes g_k there, since x^ = x_t (T(n+M-1) passes), like the engine's production loop.
Needs PyTorch (Debian: python3-torch, 1.13, for /usr/bin/python3). Example: /usr/bin/python3 bench/eager_sep_fa_vr.py --threads 1,2 --rounds 3
"""
import argparse, json, os, random, sys, time
from datetime import datetime, timezone
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    """BasicBlock: conv-BN-ReLU-conv-BN plus an option-A shortcut (subsample ::2, zero-pad channels), then ReLU."""
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(cout)
        self.stride, self.extra = stride, cout - cin

    def forward(self, x):
        out = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        s = x if self.stride == 1 else x[:, :, ::2, ::2]
        if self.extra:
            s = torch.cat([s, s.new_zeros(s.shape[0], self.extra, s.shape[2], s.shape[3])], 1)
        return F.relu(out + s)


class ResNet8(nn.Module):
    """ResNets.cifar(1): stem 3x3/16 + BN + ReLU, stages of one block (16, 32/2, 64/2), global average pooling,
    linear head (unused by the feature-alignment loss); normalisation (x - mean) / std inside, as in the engine."""
    def __init__(self, channels=1, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.stages = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2))
        self.head = nn.Linear(64, classes)
        self.register_buffer("mean", torch.full((1, channels, 1, 1), 0.5))
        self.register_buffer("std", torch.full((1, channels, 1, 1), 0.25))

    def features(self, x):
        return self.stages(self.stem((x - self.mean) / self.std)).mean((2, 3))


def gradient(model, centers, x):
    """grad_x L_k(x): feature alignment to the target centers, summed over the batch."""
    x = x.detach().requires_grad_(True)
    loss = (model.features(x) - centers).square().mean(1).sum()
    return torch.autograd.grad(loss, x)[0]


def sep_fa_vr(models, centers, x0, T, M, alpha, eps, reuse, rng):
    lower, upper = (x0 - eps).clamp(0, 1), (x0 + eps).clamp(0, 1)
    project = lambda z: torch.minimum(torch.maximum(z, lower), upper)
    x = x0
    for _ in range(T):
        picks = [rng.randrange(len(models)) for _ in range(M)]
        g = [gradient(m, c, x) for m, c in zip(models, centers)]
        g_ens = torch.stack(g).mean(0)
        g_upd, x_hat = torch.zeros_like(x), x.clone()
        for m, k in enumerate(picks):
            fresh = g[k] if reuse and m == 0 else gradient(models[k], centers[k], x_hat)
            g_upd += fresh - (g[k] - g_ens)
            x_hat = project(x_hat - alpha * g_upd.sign())
        x = project(x - alpha * g_upd.sign())
    return x


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", default="1,2", help="intra-op thread counts, comma-separated")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("-T", type=int, default=10); p.add_argument("-n", type=int, default=5)
    p.add_argument("-M", type=int, default=5)
    p.add_argument("--eps", type=float, default=8); p.add_argument("--alpha", type=float, default=1)
    p.add_argument("--variants", default="straightforward,reuse")
    p.add_argument("--rounds", type=int, default=3, help="timed batches per variant and thread count")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="append records (docs/results/performance.json format) to this list file")
    p.add_argument("--session", default=""); p.add_argument("--note", default="")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    models = [ResNet8().eval().requires_grad_(False) for _ in range(a.n)]
    all_centers = [torch.rand(10, 64) for _ in range(a.n)]
    x0 = torch.rand(a.batch, 1, 28, 28)
    targets = torch.randint(0, 10, (a.batch,))
    centers = [c[targets] for c in all_centers]
    load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    rows = []
    print(f"torch {torch.__version__}, mkldnn {torch.backends.mkldnn.is_available()}, "
          f"DNNL_MAX_CPU_ISA={os.environ.get('DNNL_MAX_CPU_ISA', 'unset')}, load {load_start}", flush=True)
    print(f"{'variant':16} {'threads':>7} {'round':>5} {'images/s':>9} {'passes/s':>9}", flush=True)
    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        for variant in a.variants.split(","):
            reuse = variant == "reuse"
            passes = a.T * (a.n + a.M - (1 if reuse else 0))
            run = lambda T: sep_fa_vr(models, centers, x0, T, a.M, a.alpha / 255, a.eps / 255, reuse, rng)
            run(1)  # warm-up: one outer step, untimed
            rates = []
            for r in range(a.rounds):
                start = time.perf_counter(); x = run(a.T); secs = time.perf_counter() - start
                assert (x - x0).abs().max() <= a.eps / 255 + 1e-6
                rates.append(a.batch / secs)
                print(f"{variant:16} {threads:7d} {r + 1:5d} {rates[-1]:9.2f} {rates[-1] * passes:9.0f}", flush=True)
            med = sorted(rates)[len(rates) // 2]
            rows.append(dict(where="pytorch-eager", device="cpu", arch="resnet8", weights="random", input="1x28x28",
                             batch=a.batch, profile="cpu" if (a.T, a.n, a.M) == (10, 5, 5) else "custom",
                             method="sep-fa-vr", variant=variant, n=a.n, T=a.T, M=a.M,
                             command=" ".join([sys.executable] + sys.argv),
                             dnnl_max_cpu_isa=os.environ.get("DNNL_MAX_CPU_ISA", "unset"),
                             torch_version=torch.__version__, intra_op_threads=threads,
                             images_per_s=round(med, 3), images_per_s_rounds=[round(v, 3) for v in rates],
                             passes_per_image=passes, passes_per_s=round(med * passes, 1)))
    load_end = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load {load_start} -> {load_end}")
    if a.json:
        records = json.load(open(a.json)) if os.path.exists(a.json) else []
        for r in rows:
            r.update(load_average_start=load_start, load_average_end=load_end, session=a.session, note=a.note,
                     date=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        json.dump(records + rows, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()

# Sourced by ./mvnw and ./sep-shield before anything loads PyTorch.
# On this project's 2-core VMs (AMD EPYC guests with AVX-512, 2026-12-01) oneDNN's vector kernels give wrong and
# sometimes NaN results: its AVX2/AVX-512 input-gradient kernels for 3x3 convolutions whose output channels are not a
# multiple of 16 are wrong every time (84 of 360 shapes at AVX-512, 52 at AVX2; docs/performance.md, "Second pass"),
# and some uncapped forward passes too (googlenet-s at batch 1 and 3). Backward passes already run on PyTorch's own
# convolution (DjlRuntime.CpuConvolution); the cap keeps the forward kernels right. It applies to virtual machines
# only, where it was seen; an explicit setting wins: ALL lifts it.
if [ -z "${DNNL_MAX_CPU_ISA-}" ] && [ -r /proc/cpuinfo ] && grep -qw hypervisor /proc/cpuinfo; then
  DNNL_MAX_CPU_ISA=SSE41
  export DNNL_MAX_CPU_ISA
fi

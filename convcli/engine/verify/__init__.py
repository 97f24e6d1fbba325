"""`convcli verify`: numerical and arithmetic proof, as check families that return
report dataclasses (never printing).

Checks (each one row of the report: name, configurations tried, worst error, pass/fail):

* ``grouped``    grouped conv == split-and-concat: group g reads input channels
                 [g*C_in/G, (g+1)*C_in/G) and owns weight rows [g*C_out/G, ...)
                 (transposed: rows [g*C_in/G, ...), the weight's dim 0 is C_in) and
                 bias[g*C_out/G, ...); one conv per group, concatenated, must equal the
                 grouped conv. Slices come from ``groups.group_layout``.
* ``depthwise``  groups == C_in: one single-channel conv per input channel.
* ``separable``  depthwise k x k then pointwise 1x1: the shapes chain, the block's
                 output has the standard conv's shape, and torch's parameter count
                 and FLOPs equal ``groups.compare_groups`` and the closed formula
                 C_in*K + C_in*C_out (+ C_in + C_out bias); without bias the ratio to the
                 standard conv is exactly 1/C_out + 1/K.
* ``calculator`` ConvSpec's validity and output shape against real CPU forward passes
                 of the nn module on random configurations from ``cases.random_case``,
                 valid and invalid; params against sum(p.numel()); MACs against
                 torch.utils.flop_counter's conv_flop_count / 2 (never FlopCounterMode,
                 which imports torch._dynamo).
* ``reference``  the numpy reference (``reference.conv``, float64) against torch in the
                 chosen dtype and device, through F.convNd and through the nn.ConvNd
                 module; one input per dims is at least 100 wide.
* ``dtypes``     (suite) the same in every other dtype the device runs, briefly.

A check that raises is a failing check whose worst case carries the exception.
Inputs and parameters are drawn in float64 from a seeded generator and rounded to the
dtype once; the reference computes in float64 on those rounded values, so the
tolerance covers only torch's own arithmetic: 8 eps of the dtype times
sum |x*w| + |b| + |y| per element (report.Tolerance). On CUDA, TF32 is switched off
while verify runs (it checks the math, not TF32's 10-bit mantissa).

Known quirk, counted as agreement (docs: /work/shared/torch-conv-rules.md): a
transposed conv whose output size is exactly 0 in some dim may return an empty tensor
on torch's CPU backend, while ConvSpec rejects it on purpose.

Modules: verify_results.py (names, tolerances, result dataclasses), plans.py (which
configurations, streamed), checks.py (the numeric checks), exact.py (separable,
calculator), execute.py (run_suite, run_config, the memory guard).
torch is imported inside functions.
"""

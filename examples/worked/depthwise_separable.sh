#!/usr/bin/env bash
# Depthwise-separable blocks (MobileNet): replace Conv2d(32, 64, 3, padding=1) by
#   depthwise  Conv2d(32, 32, 3, padding=1, groups=32)  (one 3x3 filter per channel)
#   pointwise  Conv2d(32, 64, 1)                        (mixes channels)
# Same output shape; parameters 32*9 + 32 (dw) + 32*64 + 64 (pw) = 320 + 2,112 = 2,432
# instead of 32*64*9 + 64 = 18,496: a saving of 86.9%. Without bias the ratio is
# exactly 1/C_out + 1/k^2 = 1/64 + 1/9.
#
# Run: bash examples/worked/depthwise_separable.sh   (CONVCLI overrides the command)
set -euo pipefail
CONVCLI=${CONVCLI:-convcli}

echo "# 1. Parameters for every groups value, depthwise, and the separable pair"
$CONVCLI params -i 32 -o 64 -k 3 -p 1 --compare-groups

echo "# 2. The two layers of the block on a 1x32x56x56 input"
$CONVCLI shape 1x32x56x56 -o 32 -k 3 -p 1 -g 32
$CONVCLI shape 1x32x56x56 -o 64 -k 1

echo "# 3. Proof: the shapes chain, torch's parameter count and FLOPs match the"
echo "#    formula (the 'separable' check), and depthwise == one conv per channel"
$CONVCLI verify -i 32 -o 64 -k 3 -p 1 2x32x16x16
$CONVCLI verify -i 32 -o 32 -k 3 -p 1 -g 32 2x32x16x16

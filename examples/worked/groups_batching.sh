#!/usr/bin/env bash
# Batching with groups: Conv2d(6, 12, 3, groups=2) on a batch of 4 RGB-pairs,
# input 4x6x64x64.
#
# groups split the CHANNELS, never the batch: every one of the 4 images goes through
# both groups. Group 0 maps input channels 0..2 to output channels 0..5, group 1 maps
# 3..5 to 6..11. The batch size changes the output shape and the work (MACs), never
# the weight or the parameter count.
#
# Run: bash examples/worked/groups_batching.sh   (CONVCLI overrides the command)
set -euo pipefail
CONVCLI=${CONVCLI:-convcli}

echo "# 1. Batch of 4: output [4, 12, 62, 62], weight [12, 3, 3, 3], 336 params"
$CONVCLI shape 4x6x64x64 -o 12 -k 3 -g 2

echo "# 2. Batch of 1: same weight and params, a quarter of the MACs"
$CONVCLI shape 1x6x64x64 -o 12 -k 3 -g 2

echo "# 3. Which channels each group reads and writes"
$CONVCLI params -i 6 -o 12 -k 3 -g 2

echo "# 4. Proof on the real batch: grouped == split-and-concat, reference == torch"
$CONVCLI verify -i 6 -o 12 -k 3 -g 2 4x6x64x64

#!/usr/bin/env bash
# Why does nn.Conv2d(16, 16, 1, groups=2) have ONE weight of shape [16, 8, 1, 1]
# and not two [8, 8, 1, 1] weights?
#
# Because torch stores the groups stacked along dim 0 (the output channels): rows
# 0..7 are group 0's filters, rows 8..15 group 1's. Each filter only sees the
# 16/2 = 8 input channels of its own group, so dim 1 is 8. The two [8, 8, 1, 1]
# tensors exist, as slices weight[0:8] and weight[8:16] of the one parameter.
#
# Run: bash examples/worked/grouped_weight_shape.sh   (CONVCLI overrides the command)
set -euo pipefail
CONVCLI=${CONVCLI:-convcli}

echo "# 1. The weight, the bias and which slice each group owns"
$CONVCLI params -i 16 -o 16 -k 1 -g 2

echo "# 2. Parameters: 16*8*1*1 + 16 = 144, half of groups=1's 16*16 + 16 = 272"
$CONVCLI params -i 16 -o 16 -k 1

echo "# 3. Proof: the grouped conv equals two convs on the channel halves, each with"
echo "#    its weight slice, concatenated (the 'grouped' check), on a batch of 8"
$CONVCLI verify -i 16 -o 16 -k 1 -g 2 8x16x32x32

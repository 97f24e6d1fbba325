#!/usr/bin/env bash
# Stride and padding on a 7x7 (and an 8x8) input with a 3x3 kernel:
#   out = floor((L + p_left + p_right - d*(k-1) - 1) / s) + 1
#   no padding        7 -> 5      (the window must fit: 7 - 3 + 1)
#   padding=1         7 -> 7      ("same" for odd kernels)
#   stride=2          7 -> 3
#   stride=2, pad=1   7 -> 4      (ceil(7/2))
#   stride=2 on 8     8 -> 3      (the last column is never covered: floor drops it)
#   k=4, 'same'       7 -> 7      (pads 1 before and 2 after: the odd one goes at the end)
#   transposed k=3, s=2, p=1, output_padding=1:  4 -> 8   (undoes the stride-2 conv)
#
# Run: bash examples/worked/stride_padding.sh   (CONVCLI overrides the command)
set -euo pipefail
CONVCLI=${CONVCLI:-convcli}

echo "# 1. No padding: 7 -> 5"
$CONVCLI shape 1x1x7x7 -o 1 -k 3
echo "# 2. padding=1: 7 -> 7"
$CONVCLI shape 1x1x7x7 -o 1 -k 3 -p 1
echo "# 3. stride=2: 7 -> 3"
$CONVCLI shape 1x1x7x7 -o 1 -k 3 -s 2
echo "# 4. stride=2, padding=1: 7 -> 4"
$CONVCLI shape 1x1x7x7 -o 1 -k 3 -s 2 -p 1
echo "# 5. stride=2 on an even input: 8 -> 3, one position dropped"
$CONVCLI shape 1x1x8x8 -o 1 -k 3 -s 2 --explain
echo "# 6. An even kernel with padding='same': asymmetric padding 1 + 2"
$CONVCLI shape 1x1x7x7 -o 1 -k 4 -p same --explain
echo "# 7. The transposed conv that undoes #4's downsampling: 4 -> 8"
$CONVCLI shape 1x1x4x4 -o 1 -k 3 -s 2 -p 1 -t --output-padding 1
echo "# 8. Proof: the numpy reference (written from the definition) agrees with torch"
echo "#    for the padded, strided and transposed cases"
$CONVCLI verify -i 1 -o 1 -k 3 -s 2 -p 1 1x1x7x7
$CONVCLI verify -i 1 -o 1 -k 4 -p same 1x1x7x7
$CONVCLI verify -i 1 -o 1 -k 3 -s 2 -p 1 -t --output-padding 1 1x1x4x4

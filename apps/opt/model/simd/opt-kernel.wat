;; Opt's pass kernel in WebAssembly with 128-bit SIMD; ../simd-kernel.ts lays out memory and calls it.
;;
;; Rows go through in blocks of 16 (BLOCK, baked into the byte offsets below: 256 = BLOCK·16,
;; 128 = BLOCK·8, 64 = 4 rows · 16). The caller lays out, at byte offsets it chooses:
;;   xf  f32 [BLOCK][ip]        the block's features as given (columns i ≥ inputs are 0)
;;   xi  f64 [ip/2][BLOCK][2]   the same as float64 (exact: every float32 is one), interleaved:
;;                              x[r][i] at ((i>>1)·BLOCK + r)·16 + (i&1)·8, written by `stage`
;;   wr  f64 [hp][ip]           W1 row-major, hidden units padded to hp (even), inputs to ip
;;                              (a multiple of 8) with zeros
;;   w   f64 [hp/2][ip/2][2][2] W1 packed by unit pairs and input pairs, written by `pack`:
;;                              (W1[j][2m], W1[j][2m+1]) then (W1[j+1][2m], W1[j+1][2m+1])
;;   z   f64 [hp][BLOCK]        hidden pre-activations without bias (forward), then activations
;;   d   f64 [hp][BLOCK]        hidden deltas (output's result, backward's input)
;;   g   f64 [hp][ip]           the W1 gradient, accumulated in place
;; With unit-major z and d, `output` runs two rows at a time, one in each lane, and every
;; load in the two hot loops is a pointer plus a constant offset.
;;
;; Speed (AMD EPYC, Zen 5, Node 20): forward and backward each run at 24–26 GFLOP/s, about
;; 90 % of what a synthetic loop of independent f64x2 multiplies and adds reaches (28); that
;; loop is bound by the two multiply and two add pipes, and a fused multiply-add (relaxed
;; SIMD, behind a flag in Node 20) was measured no faster. Per row: forward ~2.0 µs,
;; backward ~2.1, output ~0.35, stage ~0.09. What would go faster is fewer float64
;; operations, i.e. float32, which the next paragraph rules out.
;;
;; Float64 throughout, like the JS reference kernel. A float32 forward pass was measured
;; (twice as fast in that loop, ~25 % overall) and dropped: rounding W1 to float32 makes the
;; error a step function at 1e-8, and SCG's finite-difference curvature (a step of ~1e-5
;; relative) turns the 1e-15 differences between two partitions of the rows into 1e-5
;; differences in the trajectory within 10 iterations, so a resumed run no longer matches an
;; uninterrupted one (test/apps/opt-resume.test.ts).
;;
;; Chunk invariance: each row's pre-activation is a sum in a fixed order (two lanes over even
;; and odd i, then l0+l1) whichever slot of the block the row is in; the output layer works
;; lane-wise, so a row's arithmetic is the same in either lane; each row's W1 gradient term
;; d·x is one product. Only the sums over rows depend on how rows are grouped, so any split
;; of a range agrees to float64 rounding. Rows past the block's end are zero and their
;; deltas are masked to 0.
(module
  (memory (export "memory") 1)

  ;; xi from xf: rows r < n converted, 4 inputs at a time (n ≥ 1); rows n..BLOCK-1 zero.
  (func (export "stage") (param $xf i32) (param $xi i32) (param $ip i32) (param $n i32)
    (local $rowF i32) (local $m i32) (local $sp i32) (local $dp i32) (local $end i32) (local $v v128)
    (local.set $rowF (i32.shl (local.get $ip) (i32.const 2)))
    ;; m: byte offset of 4 inputs in a float32 row; they go to 2 pairs (512 bytes) at 32·m.
    (local.set $m (i32.const 0))
    (loop $stepLoop
      (local.set $sp (i32.add (local.get $xf) (local.get $m)))
      (local.set $dp (i32.add (local.get $xi) (i32.shl (local.get $m) (i32.const 5))))
      (local.set $end (i32.add (local.get $sp) (i32.mul (local.get $n) (local.get $rowF))))
      (loop $rowLoop
        (local.set $v (v128.load (local.get $sp)))
        (v128.store (local.get $dp) (f64x2.promote_low_f32x4 (local.get $v)))
        (v128.store offset=256 (local.get $dp) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
        (local.set $sp (i32.add (local.get $sp) (local.get $rowF)))
        (local.set $dp (i32.add (local.get $dp) (i32.const 16)))
        (br_if $rowLoop (i32.lt_u (local.get $sp) (local.get $end))))
      (local.set $m (i32.add (local.get $m) (i32.const 16)))
      (br_if $stepLoop (i32.lt_u (local.get $m) (local.get $rowF))))
    (block $padDone
      (loop $padLoop
        (br_if $padDone (i32.ge_u (local.get $n) (i32.const 16)))
        (local.set $dp (i32.add (local.get $xi) (i32.shl (local.get $n) (i32.const 4))))
        (local.set $end (i32.add (local.get $dp) (i32.shl (local.get $ip) (i32.const 7))))
        (loop $zeroLoop
          (v128.store (local.get $dp) (v128.const i32x4 0 0 0 0))
          (local.set $dp (i32.add (local.get $dp) (i32.const 256)))
          (br_if $zeroLoop (i32.lt_u (local.get $dp) (local.get $end))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $padLoop))))

  ;; w (packed) from wr (row-major).
  (func (export "pack") (param $wr i32) (param $w i32) (param $ip i32) (param $hp i32)
    (local $rowBytes i32) (local $a i32) (local $end i32) (local $last i32)
    (local.set $rowBytes (i32.shl (local.get $ip) (i32.const 3)))
    (local.set $a (local.get $wr))
    (local.set $last (i32.add (local.get $wr) (i32.mul (local.get $hp) (local.get $rowBytes))))
    (block $done
      (loop $pairLoop
        (br_if $done (i32.ge_u (local.get $a) (local.get $last)))
        (local.set $end (i32.add (local.get $a) (local.get $rowBytes)))
        (loop $inputLoop
          (v128.store (local.get $w) (v128.load (local.get $a)))
          (v128.store offset=16 (local.get $w) (v128.load (i32.add (local.get $a) (local.get $rowBytes))))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $w (i32.add (local.get $w) (i32.const 32)))
          (br_if $inputLoop (i32.lt_u (local.get $a) (local.get $end))))
        (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
        (br $pairLoop))))

  ;; z[j][r] = Σ_i W1[j][i]·x[r][i]. Register tile: 2 hidden units × 4 rows, 2 inputs a lane;
  ;; per input pair, 2 weight and 4 feature loads feed 8 multiplies and 8 adds. Each row's
  ;; sum is its two lanes (even and odd i, in order) added last, whichever slot it is in.
  (func (export "forward") (param $xi i32) (param $w i32) (param $z i32) (param $ip i32) (param $hp i32)
    (local $pairBytes i32) (local $q i32) (local $wp i32) (local $wEnd i32) (local $wLast i32)
    (local $xp i32) (local $za i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $va v128) (local $vc v128) (local $v v128)
    (local.set $pairBytes (i32.shl (local.get $ip) (i32.const 4)))
    (local.set $wLast (i32.add (local.get $w) (i32.mul (i32.shr_u (local.get $hp) (i32.const 1)) (local.get $pairBytes))))
    (local.set $q (i32.const 0))
    (loop $quadLoop
      (local.set $wp (local.get $w))
      (local.set $za (i32.add (local.get $z) (i32.shl (local.get $q) (i32.const 5))))
      (loop $unitLoop
        (local.set $wEnd (i32.add (local.get $wp) (local.get $pairBytes)))
        (local.set $xp (i32.add (local.get $xi) (i32.shl (local.get $q) (i32.const 6))))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $c0 (v128.const i32x4 0 0 0 0))
        (local.set $c1 (v128.const i32x4 0 0 0 0))
        (local.set $c2 (v128.const i32x4 0 0 0 0))
        (local.set $c3 (v128.const i32x4 0 0 0 0))
        (loop $inputLoop
          (local.set $va (v128.load (local.get $wp)))
          (local.set $vc (v128.load offset=16 (local.get $wp)))
          (local.set $v (v128.load (local.get $xp)))
          (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $va) (local.get $v))))
          (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $vc) (local.get $v))))
          (local.set $v (v128.load offset=16 (local.get $xp)))
          (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $va) (local.get $v))))
          (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $vc) (local.get $v))))
          (local.set $v (v128.load offset=32 (local.get $xp)))
          (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $va) (local.get $v))))
          (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $vc) (local.get $v))))
          (local.set $v (v128.load offset=48 (local.get $xp)))
          (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $va) (local.get $v))))
          (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $vc) (local.get $v))))
          (local.set $xp (i32.add (local.get $xp) (i32.const 256)))
          (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
          (br_if $inputLoop (i32.lt_u (local.get $wp) (local.get $wEnd))))
        ;; z[j][4q..4q+3] and z[j+1][4q..4q+3]: each lane pair summed l0 + l1.
        (v128.store (local.get $za) (call $hsum2 (local.get $a0) (local.get $a1)))
        (v128.store offset=16 (local.get $za) (call $hsum2 (local.get $a2) (local.get $a3)))
        (v128.store offset=128 (local.get $za) (call $hsum2 (local.get $c0) (local.get $c1)))
        (v128.store offset=144 (local.get $za) (call $hsum2 (local.get $c2) (local.get $c3)))
        (local.set $za (i32.add (local.get $za) (i32.const 256)))
        (br_if $unitLoop (i32.lt_u (local.get $wp) (local.get $wLast))))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br_if $quadLoop (i32.lt_u (local.get $q) (i32.const 4)))))

  ;; (a.l0 + a.l1, b.l0 + b.l1).
  (func $hsum2 (param $a v128) (param $b v128) (result v128)
    (f64x2.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a) (local.get $b))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a) (local.get $b))))

  ;; g[j][i] += Σ_r d[j][r]·x[r][i]. Register tile: 2 hidden units × 8 inputs (4 float64x2),
  ;; loaded from g, summed over the block's rows in registers and stored back, so each g
  ;; element is read and written once a block. Inputs outermost: the block's 8 inputs (512 bytes) stay in L1 while every unit
  ;; pair uses them.
  (func (export "backward") (param $xi i32) (param $d i32) (param $g i32) (param $ip i32) (param $hp i32)
    (local $rowBytes i32) (local $ig i32) (local $igEnd i32) (local $jp i32) (local $xp i32) (local $dp i32)
    (local $dEnd i32) (local $ga i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $da v128) (local $dc v128) (local $v v128)
    (local.set $rowBytes (i32.shl (local.get $ip) (i32.const 3)))
    ;; ig: byte offset of the 8-input group in xi (4 pairs of 256 bytes).
    (local.set $igEnd (i32.shl (local.get $ip) (i32.const 7)))
    (local.set $ig (i32.const 0))
    (loop $inputLoop
      (local.set $jp (i32.const 0))
      ;; ga: g[j][8·group], one g row further per unit.
      (local.set $ga (i32.add (local.get $g) (i32.shr_u (local.get $ig) (i32.const 4))))
      (loop $unitLoop
        (local.set $dp (i32.add (local.get $d) (i32.shl (local.get $jp) (i32.const 8))))
        (local.set $dEnd (i32.add (local.get $dp) (i32.const 128)))
        (local.set $xp (i32.add (local.get $xi) (local.get $ig)))
        (local.set $a0 (v128.load offset=0 (local.get $ga)))
        (local.set $a1 (v128.load offset=16 (local.get $ga)))
        (local.set $a2 (v128.load offset=32 (local.get $ga)))
        (local.set $a3 (v128.load offset=48 (local.get $ga)))
        (local.set $c0 (v128.load offset=0 (i32.add (local.get $ga) (local.get $rowBytes))))
        (local.set $c1 (v128.load offset=16 (i32.add (local.get $ga) (local.get $rowBytes))))
        (local.set $c2 (v128.load offset=32 (i32.add (local.get $ga) (local.get $rowBytes))))
        (local.set $c3 (v128.load offset=48 (i32.add (local.get $ga) (local.get $rowBytes))))
        (loop $rowLoop
          (local.set $da (v128.load64_splat (local.get $dp)))
          (local.set $dc (v128.load64_splat offset=128 (local.get $dp)))
          (local.set $v (v128.load (local.get $xp)))
          (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $da) (local.get $v))))
          (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $dc) (local.get $v))))
          (local.set $v (v128.load offset=256 (local.get $xp)))
          (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $da) (local.get $v))))
          (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $dc) (local.get $v))))
          (local.set $v (v128.load offset=512 (local.get $xp)))
          (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $da) (local.get $v))))
          (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $dc) (local.get $v))))
          (local.set $v (v128.load offset=768 (local.get $xp)))
          (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $da) (local.get $v))))
          (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $dc) (local.get $v))))
          (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
          (local.set $dp (i32.add (local.get $dp) (i32.const 8)))
          (br_if $rowLoop (i32.lt_u (local.get $dp) (local.get $dEnd))))
        (v128.store (local.get $ga) (local.get $a0))
        (v128.store offset=16 (local.get $ga) (local.get $a1))
        (v128.store offset=32 (local.get $ga) (local.get $a2))
        (v128.store offset=48 (local.get $ga) (local.get $a3))
        (local.set $ga (i32.add (local.get $ga) (local.get $rowBytes)))
        (v128.store (local.get $ga) (local.get $c0))
        (v128.store offset=16 (local.get $ga) (local.get $c1))
        (v128.store offset=32 (local.get $ga) (local.get $c2))
        (v128.store offset=48 (local.get $ga) (local.get $c3))
        (local.set $ga (i32.add (local.get $ga) (local.get $rowBytes)))
        (local.set $jp (i32.add (local.get $jp) (i32.const 1)))
        (br_if $unitLoop (i32.lt_u (local.get $jp) (i32.shr_u (local.get $hp) (i32.const 1)))))
      (local.set $ig (i32.add (local.get $ig) (i32.const 1024)))
      (br_if $inputLoop (i32.lt_u (local.get $ig) (local.get $igEnd)))))

  ;; The output layer for the whole block, two rows at a time (one a lane; pair p holds rows
  ;; 2p and 2p+1, at byte 16p of each z, d and ob row), from z (pre-activations without bias)
  ;; and the float64 b1, W2 [o][hp] and b2: hidden activations (into z, in place), the
  ;; output layer, the hidden deltas (into d) and the gradients of b1, W2 and b2, accumulated
  ;; in place as lane pairs (gb1 [hp], gw2 [o][hp], gb2 [o], each entry a float64x2 whose two
  ;; lanes the caller adds). labels: float64 [BLOCK]. ob: scratch [o][BLOCK]. The loss is left
  ;; for the caller, which has log: q [BLOCK] at err and s [BLOCK] at err+128, the row's error
  ;; being log(q) − s (xent: q = Σe^(a−max), s = a_label − max; mse: q = 1, s = −½Σ(y−t)²).
  ;; Rows from n on get zero deltas (they are computed, then masked).
  (func (export "output")
    (param $z i32) (param $d i32) (param $hp i32) (param $o i32) (param $n i32)
    (param $b1 i32) (param $w2 i32) (param $b2 i32) (param $labels i32) (param $ob i32) (param $err i32)
    (param $gb1 i32) (param $gw2 i32) (param $gb2 i32) (param $mse i32)
    (local $p i32) (local $col i32) (local $k i32) (local $at i32) (local $zj i32) (local $wk i32)
    (local $hpBytes i32) (local $zEnd i32) (local $obEnd i32) (local $g i32) (local $wj i32)
    (local $mask v128) (local $s v128) (local $max v128) (local $lv v128) (local $t v128)
    (local $e v128) (local $sum v128) (local $h v128) (local $v v128) (local $y v128) (local $w v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128) (local $q5 v128) (local $q6 v128) (local $q7 v128)
    (local.set $hpBytes (i32.shl (local.get $hp) (i32.const 3)))
    (local.set $zEnd (i32.add (local.get $z) (i32.shl (local.get $hp) (i32.const 7))))
    (local.set $obEnd (i32.add (local.get $ob) (i32.shl (local.get $o) (i32.const 7))))
    ;; h = sigmoid(z + b1), in place.
    (local.set $zj (local.get $z))
    (local.set $at (local.get $b1))
    (loop $unitLoop
      (local.set $w (v128.load64_splat (local.get $at)))
      (local.set $col (i32.const 0))
      (loop $hLoop
        (local.set $g (i32.add (local.get $zj) (local.get $col)))
        (v128.store (local.get $g) (f64x2.div (v128.const f64x2 1 1) (f64x2.add (v128.const f64x2 1 1)
          (call $exp (f64x2.neg (f64x2.add (v128.load (local.get $g)) (local.get $w)))))))
        (local.set $col (i32.add (local.get $col) (i32.const 16)))
        (br_if $hLoop (i32.lt_u (local.get $col) (i32.const 128))))
      (local.set $at (i32.add (local.get $at) (i32.const 8)))
      (local.set $zj (i32.add (local.get $zj) (i32.const 128)))
      (br_if $unitLoop (i32.lt_u (local.get $zj) (local.get $zEnd))))
    ;; a_k = b2_k + Σ_j W2[k][j]·h_j into ob, all 8 pairs at once.
    (local.set $wk (local.get $w2))
    (local.set $at (local.get $ob))
    (local.set $k (i32.const 0))
    (loop $aLoop
      (local.set $q0 (v128.const i32x4 0 0 0 0))
      (local.set $q1 (v128.const i32x4 0 0 0 0))
      (local.set $q2 (v128.const i32x4 0 0 0 0))
      (local.set $q3 (v128.const i32x4 0 0 0 0))
      (local.set $q4 (v128.const i32x4 0 0 0 0))
      (local.set $q5 (v128.const i32x4 0 0 0 0))
      (local.set $q6 (v128.const i32x4 0 0 0 0))
      (local.set $q7 (v128.const i32x4 0 0 0 0))
      (local.set $zj (local.get $z))
      (loop $dotLoop
        (local.set $w (v128.load64_splat (local.get $wk)))
        (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $w) (v128.load offset=0 (local.get $zj)))))
        (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $w) (v128.load offset=16 (local.get $zj)))))
        (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $w) (v128.load offset=32 (local.get $zj)))))
        (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul (local.get $w) (v128.load offset=48 (local.get $zj)))))
        (local.set $q4 (f64x2.add (local.get $q4) (f64x2.mul (local.get $w) (v128.load offset=64 (local.get $zj)))))
        (local.set $q5 (f64x2.add (local.get $q5) (f64x2.mul (local.get $w) (v128.load offset=80 (local.get $zj)))))
        (local.set $q6 (f64x2.add (local.get $q6) (f64x2.mul (local.get $w) (v128.load offset=96 (local.get $zj)))))
        (local.set $q7 (f64x2.add (local.get $q7) (f64x2.mul (local.get $w) (v128.load offset=112 (local.get $zj)))))
        (local.set $wk (i32.add (local.get $wk) (i32.const 8)))
        (local.set $zj (i32.add (local.get $zj) (i32.const 128)))
        (br_if $dotLoop (i32.lt_u (local.get $zj) (local.get $zEnd))))
      (local.set $w (v128.load64_splat (i32.add (local.get $b2) (i32.shl (local.get $k) (i32.const 3)))))
      (v128.store offset=0 (local.get $at) (f64x2.add (local.get $w) (local.get $q0)))
      (v128.store offset=16 (local.get $at) (f64x2.add (local.get $w) (local.get $q1)))
      (v128.store offset=32 (local.get $at) (f64x2.add (local.get $w) (local.get $q2)))
      (v128.store offset=48 (local.get $at) (f64x2.add (local.get $w) (local.get $q3)))
      (v128.store offset=64 (local.get $at) (f64x2.add (local.get $w) (local.get $q4)))
      (v128.store offset=80 (local.get $at) (f64x2.add (local.get $w) (local.get $q5)))
      (v128.store offset=96 (local.get $at) (f64x2.add (local.get $w) (local.get $q6)))
      (v128.store offset=112 (local.get $at) (f64x2.add (local.get $w) (local.get $q7)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (local.set $at (i32.add (local.get $at) (i32.const 128)))
      (br_if $aLoop (i32.lt_u (local.get $at) (local.get $obEnd))))
    ;; Per pair: the loss terms, and a_k replaced by δ_k = ∂error/∂a_k (0 in rows ≥ n).
    (local.set $col (i32.const 0))
    (loop $pairLoop
      ;; All ones in the lanes of rows 2p, 2p+1 that are < n.
      (local.set $mask (f64x2.lt
        (f64x2.add (f64x2.splat (f64.convert_i32_u (i32.shr_u (local.get $col) (i32.const 3)))) (v128.const f64x2 0 1))
        (f64x2.splat (f64.convert_i32_u (local.get $n)))))
      (local.set $lv (v128.load (i32.add (local.get $labels) (local.get $col))))
      (local.set $obEnd (i32.add (i32.add (local.get $ob) (local.get $col)) (i32.shl (local.get $o) (i32.const 7))))
      (if (i32.eqz (local.get $mse))
        (then
          (local.set $max (v128.const f64x2 -inf -inf))
          (local.set $at (i32.add (local.get $ob) (local.get $col)))
          (loop $maxLoop
            (local.set $max (f64x2.max (local.get $max) (v128.load (local.get $at))))
            (local.set $at (i32.add (local.get $at) (i32.const 128)))
            (br_if $maxLoop (i32.lt_u (local.get $at) (local.get $obEnd))))
          (local.set $sum (v128.const i32x4 0 0 0 0))
          (local.set $y (v128.const i32x4 0 0 0 0))
          (local.set $at (i32.add (local.get $ob) (local.get $col)))
          (local.set $k (i32.const 0))
          (loop $expLoop
            (local.set $v (f64x2.sub (v128.load (local.get $at)) (local.get $max)))
            (local.set $t (f64x2.eq (local.get $lv) (f64x2.splat (f64.convert_i32_u (local.get $k)))))
            (local.set $y (v128.bitselect (local.get $v) (local.get $y) (local.get $t)))
            (local.set $e (call $exp (local.get $v)))
            (v128.store (local.get $at) (local.get $e))
            (local.set $sum (f64x2.add (local.get $sum) (local.get $e)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 128)))
            (br_if $expLoop (i32.lt_u (local.get $at) (local.get $obEnd))))
          (v128.store (i32.add (local.get $err) (local.get $col)) (local.get $sum))
          (v128.store offset=128 (i32.add (local.get $err) (local.get $col)) (local.get $y))
          (local.set $sum (f64x2.div (v128.const f64x2 1 1) (local.get $sum)))
          (local.set $at (i32.add (local.get $ob) (local.get $col)))
          (local.set $k (i32.const 0))
          (loop $softLoop
            (local.set $t (f64x2.eq (local.get $lv) (f64x2.splat (f64.convert_i32_u (local.get $k)))))
            (v128.store (local.get $at) (v128.and (local.get $mask)
              (f64x2.sub (f64x2.mul (v128.load (local.get $at)) (local.get $sum))
                (v128.and (local.get $t) (v128.const f64x2 1 1)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 128)))
            (br_if $softLoop (i32.lt_u (local.get $at) (local.get $obEnd)))))
        (else
          (local.set $e (v128.const i32x4 0 0 0 0))
          (local.set $at (i32.add (local.get $ob) (local.get $col)))
          (local.set $k (i32.const 0))
          (loop $mseLoop
            (local.set $y (call $sigmoid (v128.load (local.get $at))))
            (local.set $t (f64x2.eq (local.get $lv) (f64x2.splat (f64.convert_i32_u (local.get $k)))))
            (local.set $v (f64x2.sub (local.get $y) (v128.and (local.get $t) (v128.const f64x2 1 1))))
            (local.set $e (f64x2.add (local.get $e)
              (f64x2.mul (f64x2.mul (v128.const f64x2 0.5 0.5) (local.get $v)) (local.get $v))))
            (v128.store (local.get $at) (v128.and (local.get $mask)
              (f64x2.mul (f64x2.mul (local.get $v) (local.get $y)) (f64x2.sub (v128.const f64x2 1 1) (local.get $y)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 128)))
            (br_if $mseLoop (i32.lt_u (local.get $at) (local.get $obEnd))))
          (v128.store (i32.add (local.get $err) (local.get $col)) (v128.const f64x2 1 1))
          (v128.store offset=128 (i32.add (local.get $err) (local.get $col)) (f64x2.neg (local.get $e)))))
      (local.set $col (i32.add (local.get $col) (i32.const 16)))
      (br_if $pairLoop (i32.lt_u (local.get $col) (i32.const 128))))
    (local.set $obEnd (i32.add (local.get $ob) (i32.shl (local.get $o) (i32.const 7))))
    ;; W2's gradient += Σ_rows δ_k·h, b2's += Σ_rows δ_k.
    (local.set $at (local.get $ob))
    (local.set $g (local.get $gw2))
    (local.set $k (i32.const 0))
    (loop $gLoop
      (local.set $q0 (v128.load offset=0 (local.get $at)))
      (local.set $q1 (v128.load offset=16 (local.get $at)))
      (local.set $q2 (v128.load offset=32 (local.get $at)))
      (local.set $q3 (v128.load offset=48 (local.get $at)))
      (local.set $q4 (v128.load offset=64 (local.get $at)))
      (local.set $q5 (v128.load offset=80 (local.get $at)))
      (local.set $q6 (v128.load offset=96 (local.get $at)))
      (local.set $q7 (v128.load offset=112 (local.get $at)))
      (local.set $wk (i32.add (local.get $gb2) (i32.shl (local.get $k) (i32.const 4))))
      (v128.store (local.get $wk) (f64x2.add (v128.load (local.get $wk))
        (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (local.get $q0) (local.get $q1)) (local.get $q2)) (local.get $q3)) (local.get $q4)) (local.get $q5)) (local.get $q6)) (local.get $q7))))
      (local.set $zj (local.get $z))
      (loop $outerLoop
        (local.set $s (f64x2.mul (local.get $q0) (v128.load (local.get $zj))))
        (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $q1) (v128.load offset=16 (local.get $zj)))))
        (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $q2) (v128.load offset=32 (local.get $zj)))))
        (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $q3) (v128.load offset=48 (local.get $zj)))))
        (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $q4) (v128.load offset=64 (local.get $zj)))))
        (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $q5) (v128.load offset=80 (local.get $zj)))))
        (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $q6) (v128.load offset=96 (local.get $zj)))))
        (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $q7) (v128.load offset=112 (local.get $zj)))))
        (v128.store (local.get $g) (f64x2.add (v128.load (local.get $g)) (local.get $s)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $zj (i32.add (local.get $zj) (i32.const 128)))
        (br_if $outerLoop (i32.lt_u (local.get $zj) (local.get $zEnd))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (local.set $at (i32.add (local.get $at) (i32.const 128)))
      (br_if $gLoop (i32.lt_u (local.get $at) (local.get $obEnd))))
    ;; Hidden deltas δ_j = (Σ_k W2[k][j]·δ_k)·h_j·(1 − h_j) into d; b1's gradient += Σ_rows δ_j.
    (local.set $zj (local.get $z))
    (local.set $g (local.get $gb1))
    (local.set $wk (local.get $w2))
    (loop $deltaLoop
      (local.set $q0 (v128.const i32x4 0 0 0 0))
      (local.set $q1 (v128.const i32x4 0 0 0 0))
      (local.set $q2 (v128.const i32x4 0 0 0 0))
      (local.set $q3 (v128.const i32x4 0 0 0 0))
      (local.set $q4 (v128.const i32x4 0 0 0 0))
      (local.set $q5 (v128.const i32x4 0 0 0 0))
      (local.set $q6 (v128.const i32x4 0 0 0 0))
      (local.set $q7 (v128.const i32x4 0 0 0 0))
      (local.set $wj (local.get $wk))
      (local.set $at (local.get $ob))
      (loop $sumLoop
        (local.set $w (v128.load64_splat (local.get $wj)))
        (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $w) (v128.load offset=0 (local.get $at)))))
        (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $w) (v128.load offset=16 (local.get $at)))))
        (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $w) (v128.load offset=32 (local.get $at)))))
        (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul (local.get $w) (v128.load offset=48 (local.get $at)))))
        (local.set $q4 (f64x2.add (local.get $q4) (f64x2.mul (local.get $w) (v128.load offset=64 (local.get $at)))))
        (local.set $q5 (f64x2.add (local.get $q5) (f64x2.mul (local.get $w) (v128.load offset=80 (local.get $at)))))
        (local.set $q6 (f64x2.add (local.get $q6) (f64x2.mul (local.get $w) (v128.load offset=96 (local.get $at)))))
        (local.set $q7 (f64x2.add (local.get $q7) (f64x2.mul (local.get $w) (v128.load offset=112 (local.get $at)))))
        (local.set $wj (i32.add (local.get $wj) (local.get $hpBytes)))
        (local.set $at (i32.add (local.get $at) (i32.const 128)))
        (br_if $sumLoop (i32.lt_u (local.get $at) (local.get $obEnd))))
      (local.set $at (i32.add (local.get $d) (i32.sub (local.get $zj) (local.get $z))))
      (local.set $h (v128.load offset=0 (local.get $zj)))
      (local.set $q0 (f64x2.mul (f64x2.mul (local.get $q0) (local.get $h)) (f64x2.sub (v128.const f64x2 1 1) (local.get $h))))
      (v128.store offset=0 (local.get $at) (local.get $q0))
      (local.set $h (v128.load offset=16 (local.get $zj)))
      (local.set $q1 (f64x2.mul (f64x2.mul (local.get $q1) (local.get $h)) (f64x2.sub (v128.const f64x2 1 1) (local.get $h))))
      (v128.store offset=16 (local.get $at) (local.get $q1))
      (local.set $h (v128.load offset=32 (local.get $zj)))
      (local.set $q2 (f64x2.mul (f64x2.mul (local.get $q2) (local.get $h)) (f64x2.sub (v128.const f64x2 1 1) (local.get $h))))
      (v128.store offset=32 (local.get $at) (local.get $q2))
      (local.set $h (v128.load offset=48 (local.get $zj)))
      (local.set $q3 (f64x2.mul (f64x2.mul (local.get $q3) (local.get $h)) (f64x2.sub (v128.const f64x2 1 1) (local.get $h))))
      (v128.store offset=48 (local.get $at) (local.get $q3))
      (local.set $h (v128.load offset=64 (local.get $zj)))
      (local.set $q4 (f64x2.mul (f64x2.mul (local.get $q4) (local.get $h)) (f64x2.sub (v128.const f64x2 1 1) (local.get $h))))
      (v128.store offset=64 (local.get $at) (local.get $q4))
      (local.set $h (v128.load offset=80 (local.get $zj)))
      (local.set $q5 (f64x2.mul (f64x2.mul (local.get $q5) (local.get $h)) (f64x2.sub (v128.const f64x2 1 1) (local.get $h))))
      (v128.store offset=80 (local.get $at) (local.get $q5))
      (local.set $h (v128.load offset=96 (local.get $zj)))
      (local.set $q6 (f64x2.mul (f64x2.mul (local.get $q6) (local.get $h)) (f64x2.sub (v128.const f64x2 1 1) (local.get $h))))
      (v128.store offset=96 (local.get $at) (local.get $q6))
      (local.set $h (v128.load offset=112 (local.get $zj)))
      (local.set $q7 (f64x2.mul (f64x2.mul (local.get $q7) (local.get $h)) (f64x2.sub (v128.const f64x2 1 1) (local.get $h))))
      (v128.store offset=112 (local.get $at) (local.get $q7))
      (v128.store (local.get $g) (f64x2.add (v128.load (local.get $g))
        (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (local.get $q0) (local.get $q1)) (local.get $q2)) (local.get $q3)) (local.get $q4)) (local.get $q5)) (local.get $q6)) (local.get $q7))))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (local.set $wk (i32.add (local.get $wk) (i32.const 8)))
      (local.set $zj (i32.add (local.get $zj) (i32.const 128)))
      (br_if $deltaLoop (i32.lt_u (local.get $zj) (local.get $zEnd)))))

  ;; Constants of e^x, as float64 at byte 8·c (the caller keeps bytes 0..255 free): loaded with
  ;; load64_splat they cost one instruction, where a v128.const costs three in V8's code.
  (func $constants
    (f64.store offset=0 (i32.const 0) (f64.const 700)) ;; 700 (clamp)
    (f64.store offset=8 (i32.const 0) (f64.const -700)) ;; -700
    (f64.store offset=16 (i32.const 0) (f64.const 1.4426950408889634)) ;; log2(e)
    (f64.store offset=24 (i32.const 0) (f64.const 6755399441055744)) ;; 1.5·2^52: adding it rounds to an integer (ties to even), kept in the low bits
    (f64.store offset=32 (i32.const 0) (f64.const 6.93147180369123816490e-01)) ;; ln 2, high part
    (f64.store offset=40 (i32.const 0) (f64.const 1.90821492927058770002e-10)) ;; ln 2, low part
    (f64.store offset=48 (i32.const 0) (f64.const 2.08767569878680989792e-09))
    (f64.store offset=56 (i32.const 0) (f64.const 2.50521083854417187751e-08))
    (f64.store offset=64 (i32.const 0) (f64.const 2.75573192239858906526e-07))
    (f64.store offset=72 (i32.const 0) (f64.const 2.75573192239858906526e-06))
    (f64.store offset=80 (i32.const 0) (f64.const 2.48015873015873015873e-05))
    (f64.store offset=88 (i32.const 0) (f64.const 1.98412698412698412698e-04))
    (f64.store offset=96 (i32.const 0) (f64.const 1.38888888888888888889e-03))
    (f64.store offset=104 (i32.const 0) (f64.const 8.33333333333333333333e-03))
    (f64.store offset=112 (i32.const 0) (f64.const 4.16666666666666666667e-02))
    (f64.store offset=120 (i32.const 0) (f64.const 1.66666666666666666667e-01))
    (f64.store offset=128 (i32.const 0) (f64.const 0.5))
    (f64.store offset=136 (i32.const 0) (f64.const 1))
    (f64.store offset=144 (i32.const 0) (f64.const 1)) ;; Taylor coefficients of e^r, 1/12! … 1
    )
  (start $constants)

  ;; e^x for two float64 lanes: x = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to
  ;; degree 12 (truncation < 2e-16), times 2^k built in the exponent bits. x is clamped to
  ;; [-700, 700] first, so 2^k stays a normal number: e^-700 ≈ 1e-304 stands in for 0 and
  ;; e^700 for overflow, which sigmoid and softmax cannot tell apart from the true values.
  ;; k = round(x·log2 e) (ties to even) comes from adding 1.5·2^52, whose low bits then hold
  ;; k: shifted into the exponent field with the bias they give 2^k.
  (func $exp (param $x v128) (result v128)
    (local $t v128) (local $k v128) (local $r v128) (local $p v128)
    (local.set $x (f64x2.pmax (f64x2.pmin (local.get $x) (v128.load64_splat offset=0 (i32.const 0))) (v128.load64_splat offset=8 (i32.const 0))))
    (local.set $t (f64x2.add (f64x2.mul (local.get $x) (v128.load64_splat offset=16 (i32.const 0))) (v128.load64_splat offset=24 (i32.const 0))))
    (local.set $k (f64x2.sub (local.get $t) (v128.load64_splat offset=24 (i32.const 0))))
    (local.set $r (f64x2.sub
      (f64x2.sub (local.get $x) (f64x2.mul (local.get $k) (v128.load64_splat offset=32 (i32.const 0))))
      (f64x2.mul (local.get $k) (v128.load64_splat offset=40 (i32.const 0)))))
    (local.set $p (v128.load64_splat offset=48 (i32.const 0)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=56 (i32.const 0))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=64 (i32.const 0))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=72 (i32.const 0))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=80 (i32.const 0))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=88 (i32.const 0))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=96 (i32.const 0))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=104 (i32.const 0))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=112 (i32.const 0))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=120 (i32.const 0))))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.5 0.5)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1 1)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.load64_splat offset=144 (i32.const 0))))
    (f64x2.mul (local.get $p)
      (i64x2.shl (i64x2.add (local.get $t) (v128.const i64x2 1023 1023)) (i32.const 52))))

  (func $sigmoid (param $a v128) (result v128)
    (f64x2.div (v128.const f64x2 1 1)
      (f64x2.add (v128.const f64x2 1 1) (call $exp (f64x2.neg (local.get $a))))))

)

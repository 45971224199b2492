;; Opt's pass kernel in WebAssembly with 128-bit SIMD; ../simd-kernel.ts lays out memory and calls it.
;;
;; forward, output and backward work on a block of rows in linear memory laid out by the
;; caller (byte offsets):
;;   x64  f64 [rows][ip]   the block's features as float64 (exact: every float32 is one),
;;                         rows padded with zeros to ip (a multiple of 8)
;;   w    f64 [hp][ip]     W1, hidden units padded with zero rows to hp (even)
;;   z    f64 [rows][hp]   hidden pre-activations without the bias (forward's output)
;;   d    f64 [rows][hp]   hidden deltas (backward's input; 0 for padding rows and units)
;;   g    f64 [hp][ip]     the W1 gradient, accumulated in place
;; rows is a multiple of 4.
;;
;; Float64 throughout, like the JS reference kernel. A float32 forward pass was measured
;; (twice as fast in that loop, ~25 % overall) and dropped: rounding W1 to float32 makes the
;; error a step function at 1e-8, and SCG's finite-difference curvature (a step of ~1e-5
;; relative) turns the 1e-15 differences between two partitions of the rows into 1e-5
;; differences in the trajectory within 10 iterations, so a resumed run no longer matches an
;; uninterrupted one (test/apps/opt-resume.test.ts).
;;
;; Chunk invariance: each row's pre-activation is a sum in a fixed order (two lanes over even
;; and odd i, then l0+l1) whichever slot of the block the row is in, and each row's gradient
;; term d·x is one product; only the sums over rows depend on how rows are grouped, so any
;; split of a range agrees to float64 rounding.
(module
  (memory (export "memory") 1)

  ;; z[r][j] = Σ_i w[j][i]·x64[r][i], float64. Register tile: 2 hidden units × 4 rows, 2 inputs a
  ;; lane; per 2 inputs, 2 weight and 4 feature loads feed 8 multiplies and 8 adds. Each
  ;; row's sum is its two lanes (even and odd i, in order) added last, whichever slot it is in.
  (func (export "forward")
    (param $x i32) (param $w i32) (param $z i32) (param $ip i32) (param $hp i32) (param $rows i32)
    (local $rowBytes i32) (local $zRow i32) (local $r i32) (local $j i32) (local $i i32)
    (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $wa i32) (local $wc i32)
    (local $za i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $va v128) (local $vc v128) (local $v v128)
    (local.set $rowBytes (i32.shl (local.get $ip) (i32.const 3)))
    (local.set $zRow (i32.shl (local.get $hp) (i32.const 3)))
    (local.set $r (i32.const 0))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $x0 (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $x1 (i32.add (local.get $x0) (local.get $rowBytes)))
        (local.set $x2 (i32.add (local.get $x1) (local.get $rowBytes)))
        (local.set $x3 (i32.add (local.get $x2) (local.get $rowBytes)))
        (local.set $j (i32.const 0))
        (block $unitsDone
          (loop $unitLoop
            (br_if $unitsDone (i32.ge_u (local.get $j) (local.get $hp)))
            (local.set $wa (i32.add (local.get $w) (i32.mul (local.get $j) (local.get $rowBytes))))
            (local.set $wc (i32.add (local.get $wa) (local.get $rowBytes)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $c0 (v128.const i32x4 0 0 0 0))
            (local.set $c1 (v128.const i32x4 0 0 0 0))
            (local.set $c2 (v128.const i32x4 0 0 0 0))
            (local.set $c3 (v128.const i32x4 0 0 0 0))
            (local.set $i (i32.const 0))
            (loop $inputLoop
              (local.set $va (v128.load (i32.add (local.get $wa) (local.get $i))))
              (local.set $vc (v128.load (i32.add (local.get $wc) (local.get $i))))
              (local.set $v (v128.load (i32.add (local.get $x0) (local.get $i))))
              (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $va) (local.get $v))))
              (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $vc) (local.get $v))))
              (local.set $v (v128.load (i32.add (local.get $x1) (local.get $i))))
              (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $va) (local.get $v))))
              (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $vc) (local.get $v))))
              (local.set $v (v128.load (i32.add (local.get $x2) (local.get $i))))
              (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $va) (local.get $v))))
              (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $vc) (local.get $v))))
              (local.set $v (v128.load (i32.add (local.get $x3) (local.get $i))))
              (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $va) (local.get $v))))
              (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $vc) (local.get $v))))
              (local.set $i (i32.add (local.get $i) (i32.const 16)))
              (br_if $inputLoop (i32.lt_u (local.get $i) (local.get $rowBytes))))
            ;; z[r+q][j] and z[r+q][j+1] for q = 0..3.
            (local.set $za (i32.add (local.get $z)
              (i32.add (i32.mul (local.get $r) (local.get $zRow)) (i32.shl (local.get $j) (i32.const 3)))))
            (f64.store (local.get $za) (call $hsum (local.get $a0)))
            (f64.store offset=8 (local.get $za) (call $hsum (local.get $c0)))
            (local.set $za (i32.add (local.get $za) (local.get $zRow)))
            (f64.store (local.get $za) (call $hsum (local.get $a1)))
            (f64.store offset=8 (local.get $za) (call $hsum (local.get $c1)))
            (local.set $za (i32.add (local.get $za) (local.get $zRow)))
            (f64.store (local.get $za) (call $hsum (local.get $a2)))
            (f64.store offset=8 (local.get $za) (call $hsum (local.get $c2)))
            (local.set $za (i32.add (local.get $za) (local.get $zRow)))
            (f64.store (local.get $za) (call $hsum (local.get $a3)))
            (f64.store offset=8 (local.get $za) (call $hsum (local.get $c3)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $unitLoop)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rowLoop))))

  ;; l0 + l1 of a float64x2.
  (func $hsum (param $v v128) (result f64)
    (f64.add (f64x2.extract_lane 0 (local.get $v)) (f64x2.extract_lane 1 (local.get $v))))

  ;; g[j][i] += Σ_r d[r][j]·x64[r][i]. Register tile: 2 hidden units × 8 inputs (4 float64x2),
  ;; summed over the block's rows in registers, so each g element is read and written once a
  ;; block. Inputs outermost: the block's 8 inputs stay in L1 while every unit pair uses them.
  (func (export "backward")
    (param $x i32) (param $d i32) (param $g i32) (param $ip i32) (param $hp i32) (param $rows i32)
    (local $rowBytes i32) (local $dRow i32) (local $i i32) (local $j i32) (local $r i32)
    (local $xp i32) (local $dp i32) (local $ga i32) (local $gc i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $da v128) (local $dc v128) (local $v v128)
    (local.set $rowBytes (i32.shl (local.get $ip) (i32.const 3)))
    (local.set $dRow (i32.shl (local.get $hp) (i32.const 3)))
    (local.set $i (i32.const 0))
    (block $inputsDone
      (loop $inputLoop
        (br_if $inputsDone (i32.ge_u (local.get $i) (local.get $rowBytes)))
        (local.set $j (i32.const 0))
        (block $unitsDone
          (loop $unitLoop
            (br_if $unitsDone (i32.ge_u (local.get $j) (local.get $hp)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $c0 (v128.const i32x4 0 0 0 0))
            (local.set $c1 (v128.const i32x4 0 0 0 0))
            (local.set $c2 (v128.const i32x4 0 0 0 0))
            (local.set $c3 (v128.const i32x4 0 0 0 0))
            (local.set $xp (i32.add (local.get $x) (local.get $i)))
            (local.set $dp (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 3))))
            (local.set $r (i32.const 0))
            (loop $rowLoop
              (local.set $da (v128.load64_splat (local.get $dp)))
              (local.set $dc (v128.load64_splat offset=8 (local.get $dp)))
              (local.set $v (v128.load (local.get $xp)))
              (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $da) (local.get $v))))
              (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $dc) (local.get $v))))
              (local.set $v (v128.load offset=16 (local.get $xp)))
              (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $da) (local.get $v))))
              (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $dc) (local.get $v))))
              (local.set $v (v128.load offset=32 (local.get $xp)))
              (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $da) (local.get $v))))
              (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $dc) (local.get $v))))
              (local.set $v (v128.load offset=48 (local.get $xp)))
              (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $da) (local.get $v))))
              (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $dc) (local.get $v))))
              (local.set $xp (i32.add (local.get $xp) (local.get $rowBytes)))
              (local.set $dp (i32.add (local.get $dp) (local.get $dRow)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br_if $rowLoop (i32.lt_u (local.get $r) (local.get $rows))))
            (local.set $ga (i32.add (local.get $g)
              (i32.add (i32.mul (local.get $j) (local.get $rowBytes)) (local.get $i))))
            (local.set $gc (i32.add (local.get $ga) (local.get $rowBytes)))
            (v128.store (local.get $ga) (f64x2.add (v128.load (local.get $ga)) (local.get $a0)))
            (v128.store offset=16 (local.get $ga) (f64x2.add (v128.load offset=16 (local.get $ga)) (local.get $a1)))
            (v128.store offset=32 (local.get $ga) (f64x2.add (v128.load offset=32 (local.get $ga)) (local.get $a2)))
            (v128.store offset=48 (local.get $ga) (f64x2.add (v128.load offset=48 (local.get $ga)) (local.get $a3)))
            (v128.store (local.get $gc) (f64x2.add (v128.load (local.get $gc)) (local.get $c0)))
            (v128.store offset=16 (local.get $gc) (f64x2.add (v128.load offset=16 (local.get $gc)) (local.get $c1)))
            (v128.store offset=32 (local.get $gc) (f64x2.add (v128.load offset=32 (local.get $gc)) (local.get $c2)))
            (v128.store offset=48 (local.get $gc) (f64x2.add (v128.load offset=48 (local.get $gc)) (local.get $c3)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $unitLoop)))
        (local.set $i (i32.add (local.get $i) (i32.const 64)))
        (br $inputLoop))))
;; e^x for two float64 lanes: x = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to
  ;; degree 12 (truncation < 2e-16), times 2^k built in the exponent bits. x is clamped to
  ;; [-700, 700] first, so 2^k stays a normal number: e^-700 ≈ 1e-304 stands in for 0 and
  ;; e^700 for overflow, which sigmoid and softmax cannot tell apart from the true values.
  (func $exp (param $x v128) (result v128)
    (local $k v128) (local $r v128) (local $p v128)
    (local.set $x (f64x2.max (f64x2.min (local.get $x) (v128.const f64x2 700 700)) (v128.const f64x2 -700 -700)))
    (local.set $k (f64x2.nearest (f64x2.mul (local.get $x) (v128.const f64x2 1.4426950408889634 1.4426950408889634))))
    (local.set $r (f64x2.sub
      (f64x2.sub (local.get $x) (f64x2.mul (local.get $k) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
      (f64x2.mul (local.get $k) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
    (local.set $p (v128.const f64x2 2.08767569878680989792e-09 2.08767569878680989792e-09))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.50521083854417187751e-08 2.50521083854417187751e-08)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.75573192239858906526e-07 2.75573192239858906526e-07)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.75573192239858906526e-06 2.75573192239858906526e-06)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.48015873015873015873e-05 2.48015873015873015873e-05)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1.98412698412698412698e-04 1.98412698412698412698e-04)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1.38888888888888888889e-03 1.38888888888888888889e-03)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 8.33333333333333333333e-03 8.33333333333333333333e-03)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 4.16666666666666666667e-02 4.16666666666666666667e-02)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1.66666666666666666667e-01 1.66666666666666666667e-01)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.5 0.5)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1 1)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1 1)))
    (f64x2.mul (local.get $p)
      (i64x2.shl
        (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $k))) (v128.const i64x2 1023 1023))
        (i32.const 52))))

  (func $sigmoid (param $a v128) (result v128)
    (f64x2.div (v128.const f64x2 1 1)
      (f64x2.add (v128.const f64x2 1 1) (call $exp (f64x2.neg (local.get $a))))))

  ;; For the block's rows r < n, from z (pre-activations without bias) and the float64 b1,
  ;; W2 and b2 (hidden index padded to hp, zero): hidden activations (into z, in place), the
  ;; output layer, the hidden deltas (into d) and, one row at a time, the gradients of b1,
  ;; W2 and b2 (accumulated in place). The loss is left for the caller, which has log:
  ;; err[r] = (q, s) with the row's error log(q) − s (xent: q = Σe^(a−max), s = a_label − max;
  ;; mse: q = 1, s = −½Σ(y−t)²). Rows from n on get zero deltas.
  (func (export "output")
    (param $z i32) (param $d i32) (param $hp i32) (param $o i32) (param $n i32) (param $rows i32)
    (param $b1 i32) (param $w2 i32) (param $b2 i32) (param $labels i32) (param $ob i32) (param $err i32)
    (param $gb1 i32) (param $gw2 i32) (param $gb2 i32) (param $mse i32)
    (local $r i32) (local $j i32) (local $k i32) (local $zr i32) (local $dr i32) (local $hpBytes i32)
    (local $label i32) (local $wk i32) (local $at i32)
    (local $s v128) (local $h v128) (local $v v128)
    (local $a f64) (local $max f64) (local $sum f64) (local $e f64) (local $y f64) (local $diff f64) (local $delta f64)
    (local.set $hpBytes (i32.shl (local.get $hp) (i32.const 3)))
    (local.set $r (i32.const 0))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $zr (i32.add (local.get $z) (i32.mul (local.get $r) (local.get $hpBytes))))
        (local.set $dr (i32.add (local.get $d) (i32.mul (local.get $r) (local.get $hpBytes))))
        ;; h = sigmoid(z + b1), in place.
        (local.set $j (i32.const 0))
        (loop $hLoop
          (local.set $at (i32.add (local.get $zr) (local.get $j)))
          (v128.store (local.get $at) (call $sigmoid
            (f64x2.add (v128.load (local.get $at)) (v128.load (i32.add (local.get $b1) (local.get $j))))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $hLoop (i32.lt_u (local.get $j) (local.get $hpBytes))))
        ;; a_k = b2_k + W2[k]·h into ob, and their maximum.
        (local.set $max (f64.const -inf))
        (local.set $k (i32.const 0))
        (loop $aLoop
          (local.set $wk (i32.add (local.get $w2) (i32.mul (local.get $k) (local.get $hpBytes))))
          (local.set $s (v128.const i32x4 0 0 0 0))
          (local.set $j (i32.const 0))
          (loop $dotLoop
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul
              (v128.load (i32.add (local.get $wk) (local.get $j)))
              (v128.load (i32.add (local.get $zr) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br_if $dotLoop (i32.lt_u (local.get $j) (local.get $hpBytes))))
          (local.set $a (f64.add (f64.load (i32.add (local.get $b2) (i32.shl (local.get $k) (i32.const 3))))
            (f64.add (f64x2.extract_lane 0 (local.get $s)) (f64x2.extract_lane 1 (local.get $s)))))
          (f64.store (i32.add (local.get $ob) (i32.shl (local.get $k) (i32.const 3))) (local.get $a))
          (local.set $max (f64.max (local.get $max) (local.get $a)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $aLoop (i32.lt_u (local.get $k) (local.get $o))))
        (local.set $label (i32.load (i32.add (local.get $labels) (i32.shl (local.get $r) (i32.const 2)))))
        ;; Replace a_k by δ_k = ∂error/∂a_k; leave the row's loss terms in err[r].
        (local.set $at (i32.add (local.get $err) (i32.shl (local.get $r) (i32.const 4))))
        (if (i32.eqz (local.get $mse))
          (then
            (f64.store offset=8 (local.get $at)
              (f64.sub (f64.load (i32.add (local.get $ob) (i32.shl (local.get $label) (i32.const 3)))) (local.get $max)))
            (local.set $sum (f64.const 0))
            (local.set $k (i32.const 0))
            (loop $expLoop
              (local.set $wk (i32.add (local.get $ob) (i32.shl (local.get $k) (i32.const 3))))
              (local.set $e (f64x2.extract_lane 0 (call $exp (f64x2.splat (f64.sub (f64.load (local.get $wk)) (local.get $max))))))
              (f64.store (local.get $wk) (local.get $e))
              (local.set $sum (f64.add (local.get $sum) (local.get $e)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $expLoop (i32.lt_u (local.get $k) (local.get $o))))
            (f64.store (local.get $at) (local.get $sum))
            (local.set $sum (f64.div (f64.const 1) (local.get $sum)))
            (local.set $k (i32.const 0))
            (loop $softLoop
              (local.set $wk (i32.add (local.get $ob) (i32.shl (local.get $k) (i32.const 3))))
              (f64.store (local.get $wk) (f64.sub (f64.mul (f64.load (local.get $wk)) (local.get $sum))
                (f64.convert_i32_u (i32.eq (local.get $k) (local.get $label)))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $softLoop (i32.lt_u (local.get $k) (local.get $o)))))
          (else
            (local.set $e (f64.const 0))
            (local.set $k (i32.const 0))
            (loop $mseLoop
              (local.set $wk (i32.add (local.get $ob) (i32.shl (local.get $k) (i32.const 3))))
              (local.set $y (f64x2.extract_lane 0 (call $sigmoid (f64x2.splat (f64.load (local.get $wk))))))
              (local.set $diff (f64.sub (local.get $y) (f64.convert_i32_u (i32.eq (local.get $k) (local.get $label)))))
              (local.set $e (f64.add (local.get $e) (f64.mul (f64.mul (f64.const 0.5) (local.get $diff)) (local.get $diff))))
              (f64.store (local.get $wk) (f64.mul (f64.mul (local.get $diff) (local.get $y)) (f64.sub (f64.const 1) (local.get $y))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $mseLoop (i32.lt_u (local.get $k) (local.get $o))))
            (f64.store (local.get $at) (f64.const 1))
            (f64.store offset=8 (local.get $at) (f64.neg (local.get $e)))))
        ;; Hidden deltas δ_j = (Σ_k W2[k][j]·δ_k)·h_j·(1 − h_j) into d; b1's gradient += δ.
        (local.set $j (i32.const 0))
        (loop $deltaLoop
          (local.set $s (v128.const i32x4 0 0 0 0))
          (local.set $k (i32.const 0))
          (loop $sumLoop
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul
              (v128.load (i32.add (i32.add (local.get $w2) (i32.mul (local.get $k) (local.get $hpBytes))) (local.get $j)))
              (v128.load64_splat (i32.add (local.get $ob) (i32.shl (local.get $k) (i32.const 3)))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br_if $sumLoop (i32.lt_u (local.get $k) (local.get $o))))
          (local.set $h (v128.load (i32.add (local.get $zr) (local.get $j))))
          (local.set $v (f64x2.mul (f64x2.mul (local.get $s) (local.get $h)) (f64x2.sub (v128.const f64x2 1 1) (local.get $h))))
          (v128.store (i32.add (local.get $dr) (local.get $j)) (local.get $v))
          (local.set $at (i32.add (local.get $gb1) (local.get $j)))
          (v128.store (local.get $at) (f64x2.add (v128.load (local.get $at)) (local.get $v)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $deltaLoop (i32.lt_u (local.get $j) (local.get $hpBytes))))
        ;; W2's gradient += δ_k·h, b2's += δ_k.
        (local.set $k (i32.const 0))
        (loop $gLoop
          (local.set $at (i32.add (local.get $ob) (i32.shl (local.get $k) (i32.const 3))))
          (local.set $delta (f64.load (local.get $at)))
          (local.set $at (i32.add (local.get $gb2) (i32.shl (local.get $k) (i32.const 3))))
          (f64.store (local.get $at) (f64.add (f64.load (local.get $at)) (local.get $delta)))
          (local.set $v (f64x2.splat (local.get $delta)))
          (local.set $wk (i32.add (local.get $gw2) (i32.mul (local.get $k) (local.get $hpBytes))))
          (local.set $j (i32.const 0))
          (loop $outerLoop
            (local.set $at (i32.add (local.get $wk) (local.get $j)))
            (v128.store (local.get $at) (f64x2.add (v128.load (local.get $at))
              (f64x2.mul (local.get $v) (v128.load (i32.add (local.get $zr) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br_if $outerLoop (i32.lt_u (local.get $j) (local.get $hpBytes))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $gLoop (i32.lt_u (local.get $k) (local.get $o))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop)))
    ;; Padding rows: zero deltas, so they add nothing to W1's gradient.
    (if (i32.lt_u (local.get $n) (local.get $rows))
      (then
        (memory.fill
          (i32.add (local.get $d) (i32.mul (local.get $n) (local.get $hpBytes)))
          (i32.const 0)
          (i32.mul (i32.sub (local.get $rows) (local.get $n)) (local.get $hpBytes))))))
)

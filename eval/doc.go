// Package eval measures face verification and identification quality.
//
// It works only on numbers handed to it — pair distances, labels and
// embeddings — so it can be tested and reused without any model code.
//
// # Conventions
//
// Verification scores are distances: a smaller distance means "same
// person". A pair is declared "same" when its distance is strictly less
// than the threshold τ (d < τ). ROC points are the exception that is
// spelled out on [ROCPoint]: they accept d ≤ Threshold so that every point
// sits exactly on a distinct observed distance.
//
// A pair whose image had no detectable face is passed as a NaN distance
// (or, for the logistic head, a missing feature vector). Such pairs are
// never dropped: they are scored as the worst possible answer for their
// label. A matched pair behaves as distance +Inf (it is never accepted, a
// false reject at every threshold) and a mismatched pair behaves as
// distance −Inf (it is always accepted, a false accept at every
// threshold). Either way a no-face pair is an error at every τ, so it
// lowers accuracy and TAR and raises FAR, but it never moves the chosen
// threshold.
//
// # LFW
//
// [ParsePairs] and [ParsePeople] read the official LFW protocol files, and
// [KFold] implements the standard 10-fold "unrestricted, labelled outside
// data" accuracy protocol: for each fold the threshold is chosen on the
// other nine folds and the accuracy is measured on the held-out fold.
package eval

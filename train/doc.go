// Package train holds what training a Siamese embedding network needs
// besides the network itself: losses with online mining, a P×K batch
// sampler, a face dataset with an alignment cache, augmentation, and the
// training loop [Run] (AdamW, cosine schedule, time budget, checkpoints,
// held-out validation).
//
// The losses work on plain float32 embedding matrices [B, D]; each returns
// its value and the gradient with respect to the embeddings, which the
// loop feeds into the network's backward pass on the nn graph.
//
// Losses:
//
//   - [TripletLoss] is the FaceNet loss max(‖a−p‖² − ‖a−n‖² + α, 0) with
//     triplets mined online inside the batch ([BatchAll], [BatchHard],
//     [SemiHard], [RandomTriplets]), or with the soft margin
//     ln(1 + exp(‖a−p‖² − ‖a−n‖²)) ([TripletConfig].Soft), on squared or
//     Euclidean distances ([TripletConfig].Euclidean); the mining can
//     change as the run goes ([Config].Curriculum). Hard mining from a
//     random start needs the network's embedding batch norm
//     (model.EmbedNetConfig.EmbeddingBN), or every embedding collapses
//     onto one point.
//   - [ContrastiveLoss] is the pair loss d² for the same identity and
//     max(m − d, 0)² for different identities.
//   - [BinaryHead] is the classic Siamese verification head
//     σ(Σ w_k |e_i,k − e_j,k| + b) trained with cross-entropy.
//
// Internally the losses compute in float64 and take distances as sums of
// squared differences rather than from a Gram matrix, so that small
// distances do not cancel catastrophically; the results are converted to
// float32 at the end.
//
// Data: [OpenDataset] lists a folder with one sub-folder per identity,
// decodes (or aligns, once, through a caller-supplied function) and caches
// the face chips; a [Sampler] draws P identities × K images per batch; and
// [Dataset.Batch] assembles a batch, decoding and augmenting on all cores.
package train

// Package style is neural style transfer (Gatys, Ecker & Bethge, "Image
// style transfer using convolutional neural networks", CVPR 2016) on
// facerec's engine: an image G is optimised in pixel space so that it has
// the content of a content image C and the style of one or more style
// images S,
//
//	J(G) = α·J_content(C, G) + β·J_style(S, G) + γ·TV(G),
//
// where J_content compares the activations of one layer of a pretrained
// network (½ Σ (F − P)²), J_style compares Gram matrices (channel
// correlations, E_l = 1/(4 N_l² M_l²) Σ (G_l − A_l)²) over several layers
// with weights w_l, and TV is the squared total variation of the pixels.
//
// The network is a FeatureNet: the MobileNet V1 backbone of facerec's SSD
// detector (SSD), or VGG-19 from torchvision weights (LoadVGG19). It is
// the network of package model, written once, run on a recording nn.Graph:
// the gradient of J reaches the pixels through nn.Graph.BackwardFromAll,
// seeded at every layer that J reads.
//
// NewCost computes the targets; Cost.Eval gives J and ∂J/∂G;
// Cost.Optimize runs L-BFGS (optim.LBFGS) or Adam with the pixels kept in
// [0, 1]; Transfer wraps it for images (sizes, colour preservation,
// intermediate images).
package style

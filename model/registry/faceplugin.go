package registry

// FRFeature is the face descriptor network of the npm package
// faceplugin-face-recognition-js 0.0.1 (MIT per its package.json): an
// ONNX file (PyTorch 1.10 export, opset 9) of a MobileFaceNet-style
// network, 1.19 M parameters, mapping a 112×112 RGB face chip to 512
// values. The package's README does not say where the weights came from
// (what they were trained on, or by whom); only that "better" models are
// available from the vendor. Its LICENSE file is the MIT text with the
// copyright line "2021 gitguanqi", a name that appears nowhere else in
// the package, so who licenses the weights is not clear either.
//
// It is in All since it became the default descriptor (face.Options): a
// default pull runs npm pack once for face-api's package and once for
// this 41 MB one (it ships eight other networks too, the Analysis set).
var FRFeature = Manifest{
	Name:    "fr_feature",
	Package: "faceplugin-face-recognition-js", Version: "0.0.1", Dir: "package/model",
	Files: []File{
		{"fr_feature.onnx", "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"},
	},
	Origin: "unknown: the package's README does not say where the weights came from (training data, author); " +
		"MIT per its package.json, LICENSE names \"2021 gitguanqi\"",
}

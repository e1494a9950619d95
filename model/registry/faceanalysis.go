package registry

// The face-analysis networks of faceplugin-face-recognition-js 0.0.1, the
// package of FRFeature (the same licence and the same unknown provenance:
// its README says neither what these were trained on nor by whom). Each
// is one ONNX file (PyTorch exports, opset 9) and, like FRFeature, is
// Optional: fetched only when named or when an analysis needs it. A pull
// of several runs npm pack once.
var (
	// FRLiveness is a passive anti-spoofing network (MiniFASNet-like,
	// 0.47 M parameters): a 128×128 RGB crop of the face box enlarged
	// 2.7×, values 0–255, to three logits.
	FRLiveness = faceplugin("fr_liveness", "afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d")
	// FRAge is an SSR-Net age regressor (45 k parameters): a 64×64 RGB
	// crop of the box enlarged 1.4×, ImageNet mean and deviation, to
	// three stages of bin probabilities, offsets and scale shifts.
	FRAge = faceplugin("fr_age", "74c9b01700cb9ef96f7190a2230218414ff99d231415c4b091a755780cad5e8a")
	// FRGender is FRAge's architecture trained for gender (44 k
	// parameters), its merged output in 0..1.
	FRGender = faceplugin("fr_gender", "a003e8392a617ca834c7ca2c01e0895f5c354217fb56cd0373935e6e9b9c396e")
	// FRExpression is a seven-class expression classifier (DenseNet-like,
	// 7.0 M parameters): a 224×224 RGB crop, values 0–1.
	FRExpression = faceplugin("fr_expression", "88959314d9dc14d6c968cca31dc068e4350bf1944154e3bdd2eece5d0f318d05")
	// FRPose is a head-pose network (ShuffleNet-like, 1.45 M parameters,
	// HopeNet-style): a 224×224 crop of the box enlarged 1.5×, ImageNet
	// mean and deviation, to 66 bins of 3° for each of yaw, pitch and roll.
	FRPose = faceplugin("fr_pose", "72d032ec941b7153bf8d3f2c03a4c165453cc7e63d479041ec7c6ef087e5839d")
	// FREye is an eye open/closed classifier (50 k parameters): a 24×24
	// grey crop of one eye, values 0–1, to two logits.
	FREye = faceplugin("fr_eye", "1afcea006abc1ccac3c517022abde0aa092bed74ff3c9fe6878483ef9e6e38de")
)

// faceplugin is the manifest of the one file name+".onnx" of the package.
func faceplugin(name, sha256 string) Manifest {
	return Manifest{
		Name:    name,
		Package: FRFeature.Package, Version: FRFeature.Version, Dir: FRFeature.Dir,
		Files: []File{{name + ".onnx", sha256}},
	}
}

// Analysis returns the manifests of the face-analysis networks.
func Analysis() []Manifest {
	return []Manifest{FRLiveness, FRAge, FRGender, FRExpression, FRPose, FREye}
}

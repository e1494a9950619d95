// dlib's own landmarks for the LFW alignment experiment (README, "LFW"): not
// part of facerec. Build on Debian with
//   apt-get install libdlib-dev libdlib-data
//   g++ -O2 -o dlib_landmarks dlib_landmarks.cpp -ldlib \
//       /lib/x86_64-linux-gnu/libblas.so.3 /lib/x86_64-linux-gnu/liblapack.so.3
// and run as
//   dlib_landmarks /usr/share/dlib/shape_predictor_68_face_landmarks.dat < boxes.txt
// Reads lines "path x y w h" (a fallback box) from stdin; prints
// "path src p0x p0y ... p67x p67y" where src is hog (dlib's own detector box,
// the one closest to the fallback box's centre) or box (the fallback box).
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_processing.h>
#include <dlib/image_io.h>
#include <iostream>
#include <sstream>
using namespace dlib;
int main(int argc, char** argv) {
    frontal_face_detector det = get_frontal_face_detector();
    shape_predictor sp;
    deserialize(argv[1]) >> sp;
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string path; double x, y, w, h;
        in >> path >> x >> y >> w >> h;
        array2d<rgb_pixel> img;
        load_image(img, path);
        std::vector<rectangle> dets = det(img);
        rectangle box(std::lround(x), std::lround(y), std::lround(x + w) - 1, std::lround(y + h) - 1);
        std::string src = "box";
        double best = 1e18;
        for (auto& d : dets) {
            double dx = (d.left() + d.right()) / 2.0 - (x + w / 2), dy = (d.top() + d.bottom()) / 2.0 - (y + h / 2);
            if (dx * dx + dy * dy < best && dx * dx + dy * dy < (w * w) / 4) { best = dx * dx + dy * dy; box = d; src = "hog"; }
        }
        full_object_detection s = sp(img, box);
        std::cout << path << " " << src;
        for (unsigned i = 0; i < s.num_parts(); i++) std::cout << " " << s.part(i).x() << " " << s.part(i).y();
        std::cout << "\n";
    }
}

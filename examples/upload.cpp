// Saving an uploaded file (seed 004, upload.py): the first file of the form
// field "img" is written to <upload_dir>/itcast (the seed writes ./itcast).
//
//   $ upload --upload_dir=/tmp    # --port=8000; upload_dir defaults to the temp directory
//   $ curl -F img=@photo.jpg http://127.0.0.1:8000/upload
//   OK
// The write is blocking, as in the seed: fine for small files; for large
// ones use stream_request_body or run_in_executor.
#include <filesystem>
#include <fstream>
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

struct IndexHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("hello itcast.");
        co_return;
    }
};

struct UploadHandler : gale::RequestHandler {
    std::filesystem::path upload_dir;
    void initialize(const std::filesystem::path& dir) { upload_dir = dir; }

    gale::task<void> post() {
        auto img_files = request().files.find("img");
        if (img_files != request().files.end() && !img_files->second.empty()) {
            const gale::HTTPFile& img_file = img_files->second.front();
            std::ofstream(upload_dir / "itcast", std::ios::binary) << img_file.body;
        }
        write("OK");
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    std::filesystem::path upload_dir = args.get("upload_dir", std::filesystem::temp_directory_path().string());
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
        {"/upload", gale::handler<UploadHandler>(upload_dir)},
    });
    example::serve(app, args);
}

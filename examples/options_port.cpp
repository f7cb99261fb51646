// The seed's opt.py (seeds 004:187 and 004:226, 002:131): a server whose
// port and list of subjects come from the command line or a config file,
// with Tornado's logging options and --help.
//
//   $ options_port --port=9000 --itcast=python,c++,java,php,ios
//   ['python', 'c++', 'java', 'php', 'ios']
//   Listening on http://127.0.0.1:9000/
//   $ curl http://127.0.0.1:9000/
//   Hello Itcast!
//
//   $ cat config                  # the seed's config file, as it is
//   port = 8000
//   itcast = ["python","c++","java","php","ios"]
//   $ options_port --config=config --logging=warning
//   $ options_port --help         # every option, grouped by file, as Tornado prints them
//
// --port=0 picks a free port; the "Listening on" line tells which.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <gale/options.hpp>
#include <gale/web.hpp>

namespace {

auto& port = gale::define<std::uint16_t>("port", 8000, "run server on the given port.");
auto& address = gale::define("address", "127.0.0.1", "listen on this address");
auto& itcast = gale::define<std::vector<std::string>>("itcast", {}, "itcast subjects.");
// Tornado's idiom: options in the file override the ones before --config on
// the command line, and those after it override the file.
auto& config = gale::define<std::string>("config", "", "read options from this file",
                                         {.metavar = "PATH", .callback = [](const std::string& path) {
                                              gale::parse_config_file(path, false);
                                          }});

struct IndexHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("Hello Itcast!");
        co_return;
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    gale::parse_command_line(argc, argv);
    std::printf("%s\n", gale::options.at("itcast").value_text().c_str());  // print options.itcast

    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
    });
    std::uint16_t bound = app.listen(*port, *address);
    gale::app_log.info("listening on {}:{} (config: {})", *address, bound, config->empty() ? "none" : *config);
    std::printf("Listening on http://%s:%u/\n", address->c_str(), static_cast<unsigned>(bound));
    gale::IOLoop::current().start();
}

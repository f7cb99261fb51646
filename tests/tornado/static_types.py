#!/usr/bin/python3
"""Content types as Tornado 6.2's StaticFileHandler.get_content_type gives
them (Python's mimetypes, which also reads /etc/mime.types), for
tests/test_web_static.cpp and include/gale/detail/static_files.hpp.

    /usr/bin/python3 tests/tornado/static_types.py < names   # "name<TAB>content type" per line
    /usr/bin/python3 tests/tornado/static_types.py --table   # the C++ table of static_files.hpp
"""
import mimetypes
import sys

# The extensions gale's table carries: the common types of the web.
EXTENSIONS = """
7z aac apng avi avif bin bmp c css csv doc docx eot epub gif gz h htm html ico ics jar
jpeg jpg js json jsonld m4a m4v manifest md mjs mov mp3 mp4 mpeg mpg oga ogg ogv otf pdf png
ppt pptx py rar rss rtf sh svg tar tif tiff ttf txt vtt wasm wav webm webmanifest webp woff
woff2 xhtml xls xlsx xml xz zip zst
""".split()


def tornado_content_type(path):
    # tornado.web.StaticFileHandler.get_content_type, on a path.
    mime_type, encoding = mimetypes.guess_type(path)
    if encoding == "gzip":
        return "application/gzip"
    elif encoding is not None:
        return "application/octet-stream"
    elif mime_type is not None:
        return mime_type
    return "application/octet-stream"


def main():
    mimetypes.init()
    if sys.argv[1:] == ["--table"]:
        for ext in sorted(EXTENSIONS):
            print('    {".%s", "%s"},' % (ext, mimetypes.types_map["." + ext]))
        print("// encodings:", mimetypes.encodings_map)
        print("// suffixes:", mimetypes.suffix_map)
        return
    for line in sys.stdin:
        name = line.rstrip("\n")
        print("%s\t%s" % (name, tornado_content_type(name)))


main()

#include <gale/template.hpp>

#include <doctest/doctest.h>

TEST_CASE("template: smoke") {
    gale::Template t("Hello {{ name }}! {% for i in range(3) %}{{ i }},{% end %}");
    gale::template_namespace ns;
    ns.set("name", "<world>");
    CHECK(t.generate(ns) == "Hello &lt;world&gt;! 0,1,2,");
}

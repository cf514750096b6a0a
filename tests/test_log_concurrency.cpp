// placeholder: filled by issue 10 work
#include <catch2/catch.hpp>

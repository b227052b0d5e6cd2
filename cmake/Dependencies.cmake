# All dependencies come from Debian packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CURL REQUIRED)
# The reference proxy's TLS (Asio's OpenSSL layer) and HTTP/2 (nghttp2) towards clients.
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
if(STREAMCHECK_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# Asio with C++20 coroutines; Boost 1.74 + g++ 12 also needs <utility> first (see common/asio.h).
add_library(streamcheck_asio INTERFACE)
target_link_libraries(streamcheck_asio INTERFACE Boost::boost Threads::Threads)
target_compile_definitions(streamcheck_asio INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
# g++ 12 misreports Asio's coroutine frame allocator (GCC bug 105357 family).
target_compile_options(streamcheck_asio INTERFACE -fcoroutines -Wno-mismatched-new-delete)

// link_check.cpp — the main of the module link checks (tests/modules/meson.build).
//
// Each link_check_<module> executable is this file plus the whole of one
// module's static library (link_whole), linked against only the modules and
// libraries that module declares in meson.build. Nothing here calls the
// module: the point is the link itself. If any object of the module refers to
// a symbol of a module it does not declare (core calling into the engine,
// import into the log), the executable fails to link with an "undefined
// reference", and the build fails.
int main() { return 0; }

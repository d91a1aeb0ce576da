# Installed package: find_package(EustressNet) gives EustressNet::eustress_net.
include(CMakePackageConfigHelpers)

set(EUSTRESS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/EustressNet)

install(TARGETS eustress_net EXPORT EustressNetTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/eustress DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT EustressNetTargets NAMESPACE EustressNet:: DESTINATION ${EUSTRESS_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/EustressNetConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/EustressNetConfig.cmake
                              INSTALL_DESTINATION ${EUSTRESS_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/EustressNetConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/EustressNetConfig.cmake ${PROJECT_BINARY_DIR}/EustressNetConfigVersion.cmake
        DESTINATION ${EUSTRESS_CMAKE_DIR})

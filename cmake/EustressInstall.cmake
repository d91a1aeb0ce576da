# Installed package: find_package(EustressNet) gives EustressNet::eustress_net.

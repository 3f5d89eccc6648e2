//! kec-server

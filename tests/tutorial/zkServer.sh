#!/usr/bin/env bash
# What the tutorial image's /opt/zookeeper/bin/zkServer.sh (the upstream 3.4 release's) does
# for `start-foreground`, on the jars of Debian's 3.4 package (bound over /usr/share/java by the
# test pod, tests/support/dist.rs): its config directory is the one beside bin/, whatever
# start-zookeeper's --conf_dir said; conf/java.env is sourced; the root logger is INFO,CONSOLE
# whatever the log level; JMX is on; `exec java`. For the migration tests only.
ZOOBINDIR=$(cd "$(dirname "${BASH_SOURCE-$0}")" && pwd)
ZOOCFGDIR="$ZOOBINDIR/../conf"
ZOOCFG="$ZOOCFGDIR/zoo.cfg"
if [ -f "$ZOOCFGDIR/java.env" ]; then
    . "$ZOOCFGDIR/java.env"
fi
ZOO_LOG_DIR=${ZOO_LOG_DIR:-.}
ZOO_LOG4J_PROP=${ZOO_LOG4J_PROP:-INFO,CONSOLE}
CLASSPATH="$ZOOCFGDIR"
for jar in zookeeper.jar slf4j-api.jar slf4j-log4j12.jar log4j-1.2.jar jline.jar; do
    CLASSPATH="$CLASSPATH:/usr/share/java/$jar"
done
echo "Using config: $ZOOCFG" >&2
case $1 in
start-foreground)
    exec java "-Dzookeeper.log.dir=$ZOO_LOG_DIR" "-Dzookeeper.root.logger=$ZOO_LOG4J_PROP" \
        -cp "$CLASSPATH" $JVMFLAGS -Dcom.sun.management.jmxremote \
        -Dcom.sun.management.jmxremote.local.only=false \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZOOCFG"
    ;;
*)
    echo "Usage: $0 start-foreground (the only command the tutorial uses)" >&2
    exit 1
    ;;
esac

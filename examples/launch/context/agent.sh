echo "hello from $(/bin/busybox cat /etc/hostname)"

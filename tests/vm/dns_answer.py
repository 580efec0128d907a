"""A resolver on loopback for the guest-network test: answers every A query with ADDRESS.
Usage: dns_answer.py BIND_ADDRESS ADDRESS.  Serves until killed."""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], 53))
answer = socket.inet_aton(sys.argv[2])
while True:
    query, peer = sock.recvfrom(512)
    if len(query) < 17:
        continue
    end = 12  # the question's name: length-prefixed labels up to a zero byte
    while end < len(query) and query[end] != 0:
        end += query[end] + 1
    question = query[12:end + 5]  # name, zero byte, type, class
    header = query[:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
    record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + answer
    sock.sendto(header + question + record, peer)

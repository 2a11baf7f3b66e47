#!/usr/bin/env python3
"""Browser test of the web console (docs/console.md) against `nvlb run` in a network namespace.

    console_browser.py NVLB_BINARY OUT_DIRECTORY

The outer run (root namespace) creates a namespace with a veth pair for the underlay, copies
Config/example.yaml with a `management:` section and a token file into a temporary directory,
starts `nvlb run` in the namespace, runs the inner part (this file with `--inner`) there with
`ip netns exec` — headless Chromium driven by selenium reaches the server on 127.0.0.1 — and
removes the namespace and the process whatever happens. Screenshots go to OUT_DIRECTORY.
Every wait is bounded. Exit status 0: all checks passed; 1: a check failed; 77: cannot run.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
PORT = 9180
SECRET = "console-test-secret-1f0c"


def outer(binary, out):
    namespace = f"nvlbcon{os.getpid()}"
    work = pathlib.Path(tempfile.mkdtemp(prefix="nvlb-console-"))
    process = None
    replay = None
    host = None
    log_path = work / "nvlb.log"
    # Screenshots of an earlier run must not pass for this run's (only this test's own files).
    for stale in pathlib.Path(out).glob("console-*.png"):
        stale.unlink()
    try:
        for command in (
            ["ip", "netns", "add", namespace],
            ["ip", "-n", namespace, "link", "set", "lo", "up"],
            ["ip", "-n", namespace, "link", "add", "pa0", "type", "veth", "peer", "name", "pa1"],
            ["ip", "-n", namespace, "link", "set", "pa0", "address", "02:4c:42:00:06:02", "up"],
            ["ip", "-n", namespace, "link", "set", "pa1", "up"],
        ):
            subprocess.run(command, check=True, timeout=20)
        tokens = work / "tokens"
        tokens.write_text(f"operator {SECRET}\n")
        tokens.chmod(0o600)
        config = (ROOT / "Config/example.yaml").read_text()
        # One interface (the veth) for both sides.
        config = "\n".join(line for line in config.splitlines() if "interface: ext0" not in line)
        # A TCP probe on blue-web's port 80; only the host of 5001/10.1.6.20 answers it.
        config = config.replace("    gateway_mac: 02:4c:42:00:b1:00", "    gateway_mac: 02:4c:42:00:b1:00\n    probe_source: 10.1.6.254", 1)
        config = config.replace(
            "    frontends: [ { vip: 131.107.10.10 } ]",
            "    frontends: [ { vip: 131.107.10.10 } ]\n"
            "    probes: [ { name: web, protocol: tcp, port: 80, interval: 2, timeout: 1, rise: 1, fall: 1 } ]", 1)
        config = config.replace("- { protocol: tcp, frontend_port: 80, backend_port: 80 }",
                                "- { protocol: tcp, frontend_port: 80, backend_port: 80, probe: web }", 1)
        config += f"\nmanagement:\n  listen: 127.0.0.1:{PORT}\n  token_file: {tokens}\n"
        config_path = work / "nvlb.yaml"
        config_path.write_text(config)
        host = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, __file__, "--responder"])
        log = open(log_path, "w")
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, binary, "run", "--config", str(config_path), "--workers", "1",
             "--stats-interval", "0"], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while "nvlb running" not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                print("nvlb did not start:\n" + log_path.read_text())
                return 1
            time.sleep(0.05)
        # Tenant traffic of every VIP, replayed into the underlay for the whole run: the chart
        # and the packets/s figures have something to show.
        capture = work / "traffic.pcap"
        subprocess.run([binary, "gen", "--config", str(config_path), "--output", str(capture), "--flows", "3000"],
                       check=True, timeout=60, stdout=subprocess.DEVNULL)
        replay = subprocess.Popen(
            ["ip", "netns", "exec", namespace, "tcpreplay", "-q", "-i", "pa1", "--pps", "400", "--loop", "0",
             str(capture)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Flows nvlb has not seen yet, replayed once after the drain: none may reach the DIP.
        fresh = work / "fresh.pcap"
        subprocess.run([binary, "gen", "--config", str(config_path), "--output", str(fresh), "--flows", "400",
                        "--seed", "99"], check=True, timeout=60, stdout=subprocess.DEVNULL)
        inner = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, __file__, "--inner", str(config_path), out],
            timeout=240, env={**os.environ, "NVLB_CONSOLE_REPLAY_PID": str(replay.pid),
                              "NVLB_CONSOLE_FRESH": str(fresh)})
        if inner.returncode != 0:
            print("nvlb log:\n" + log_path.read_text()[-4000:])
            return inner.returncode
        # The console's changes are in nvlb's log (the audit lines name the token), its secret
        # never is.
        text = log_path.read_text()
        audited = [line for line in text.splitlines() if "audit" in line and "operator" in line]
        if SECRET in text or not audited:
            print(f"FAIL the token's secret is in nvlb's log or no change was audited ({len(audited)} audit lines):\n"
                  + text[-4000:])
            return 1
        print(f"ok   the token's secret is never in nvlb's log ({len(audited)} audit lines name the token)")
        return 0
    finally:
        for child in (replay, host):
            if child is not None:
                child.kill()
                child.wait(timeout=10)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", namespace], timeout=20)
        shutil.rmtree(work, ignore_errors=True)


def request(method, path, token=None, body=None):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def ipv4(source, destination, protocol, payload):
    import socket
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, protocol, 0,
                                   socket.inet_aton(source), socket.inet_aton(destination)))
    header[10:12] = struct.pack("!H", checksum(bytes(header)))
    return bytes(header) + payload


def responder(interface, pa, ca, dip_mac):
    """The Hyper-V host of one DIP, as far as health probes go: answers a TCP probe (a SYN in
    NVGRE to `pa` for `ca`) with a SYN-ACK, so that this DIP is up and the others of its load
    balancer, whose hosts answer nothing, are down (docs/health.md)."""
    import socket
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.bind((interface, 0))
    mac = bytes.fromhex(dip_mac.replace(":", ""))
    while True:
        frame, address = sock.recvfrom(2048)
        if address[2] == socket.PACKET_OUTGOING or len(frame) < 14 + 20 + 8 + 14 + 20 + 20:
            continue
        if frame[12:14] != b"\x08\x00" or frame[23] != 47 or socket.inet_ntoa(frame[30:34]) != pa:
            continue
        gre = frame[34:42]
        inner = frame[42:]
        if gre[2:4] != b"\x65\x58" or inner[0:6] != mac or inner[12:14] != b"\x08\x00":
            continue
        ip = inner[14:34]
        tcp = inner[34:54]
        if ip[9] != 6 or socket.inet_ntoa(ip[16:20]) != ca or not tcp[13] & 0x02 or tcp[13] & 0x10:
            continue
        source, port = socket.inet_ntoa(ip[12:16]), struct.unpack("!H", tcp[0:2])[0]
        sequence = struct.unpack("!I", tcp[4:8])[0]
        segment = bytearray(struct.pack("!HHIIBBHHH", struct.unpack("!H", tcp[2:4])[0], port, 0x1000,
                                        (sequence + 1) & 0xFFFFFFFF, 0x50, 0x12, 65535, 0, 0))
        pseudo = socket.inet_aton(ca) + socket.inet_aton(source) + struct.pack("!BBH", 0, 6, len(segment))
        segment[16:18] = struct.pack("!H", checksum(pseudo + bytes(segment)))
        inner_reply = inner[6:12] + mac + b"\x08\x00" + ipv4(ca, source, 6, bytes(segment))
        outer = ipv4(pa, socket.inet_ntoa(frame[26:30]), 47, gre + inner_reply)
        sock.send(frame[6:12] + frame[0:6] + b"\x08\x00" + outer)


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)
    print("ok   " + message)


def inner(config_path, out):
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)

    status, headers, _ = request("GET", "/")
    csp = headers.get("Content-Security-Policy", "")
    check(status == 200 and "script-src 'self'" in csp and "unsafe-inline" not in csp,
          "GET / without a token: 200 with a CSP without inline script")
    check(request("GET", "/v1/status")[0] == 401, "GET /v1/status without a token: 401")
    config = json.loads(request("GET", "/v1/config", SECRET)[2])

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                     "--disable-gpu", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                              options=options)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(10)
    # The page re-renders every 2 s: an element found before a refresh goes stale.
    wait = WebDriverWait(driver, 15, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException])

    def retry(action):
        for attempt in range(5):
            try:
                return action()
            except StaleElementReferenceException:
                if attempt == 4:
                    raise
    try:
        driver.get(f"http://127.0.0.1:{PORT}/")
        token = wait.until(EC.element_to_be_clickable((By.ID, "token")))

        # A wrong token is refused and nothing of the console shows.
        token.send_keys("not-the-secret", Keys.ENTER)
        wait.until(lambda d: "not accepted" in d.find_element(By.ID, "login-error").text)
        check(not driver.find_element(By.ID, "console").is_displayed(), "a wrong token is refused")
        driver.save_screenshot(str(out / "console-login-refused.png"))

        token = driver.find_element(By.ID, "token")
        token.send_keys(SECRET, Keys.ENTER)
        wait.until(lambda d: d.find_element(By.ID, "console").is_displayed()
                   and d.find_elements(By.CSS_SELECTOR, "tr[data-backend]"))
        check(SECRET not in driver.current_url, "the secret is not in the URL")

        # Every LB, VIP and DIP of the configuration is listed.
        for lb in config["load_balancers"]:
            article = driver.find_element(By.CSS_SELECTOR, f'article[data-lb="{lb["name"]}"]')
            for frontend in lb["frontends"]:
                article.find_element(By.CSS_SELECTOR, f'li[data-vip="{frontend["vip"]}"]')
            for backend in lb["backends"]:
                name = f'{backend["vsid"]}/{backend["ca"]}'
                row = article.find_element(By.CSS_SELECTOR, f'tr[data-backend="{name}"]')
                row.find_element(By.CSS_SELECTOR, f'[aria-label="Drain {name}"]')
                row.find_element(By.CSS_SELECTOR, f'[aria-label="Weight {name}"]')
        count = sum(len(lb["backends"]) for lb in config["load_balancers"])
        check(len(driver.find_elements(By.CSS_SELECTOR, "tr[data-backend]")) == count,
              f"every LB, VIP and DIP is listed ({len(config['load_balancers'])} LBs, {count} DIP rows)")
        for domain in config["routing_domains"]:
            for record in domain["lookup_records"]:
                driver.find_element(
                    By.CSS_SELECTOR, f'article[data-domain="{domain["name"]}"] tr[data-record="{record["vsid"]}/{record["ca"]}"]')
        check(True, "every lookup record is listed")

        # Two refreshes: rates and the chart come from two samples.
        first = driver.find_element(By.TAG_NAME, "body").get_attribute("data-refreshed")
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-refreshed") != first)
        check(len(driver.find_elements(By.CSS_SELECTOR, "#chart-box polyline[data-vip]")) == 3,
              "the chart has a line per VIP after two samples")

        def chart_moves(d):
            points = [text.split() for text in d.execute_script(
                "return [...document.querySelectorAll('#chart-box polyline[data-vip]')].map(l => l.getAttribute('points'))")]
            return any(len(p) >= 3 and len({xy.split(",")[1] for xy in p}) > 1 for p in points)
        wait.until(chart_moves)
        check(True, "the chart updates while traffic is replayed (a VIP line leaves zero)")

        # Packets/s per worker, from the worker's own counters in two samples of /v1/status.
        def worker_rate(d, direction):
            text = d.execute_script(
                "const c = document.querySelector(`#workers tr[data-worker=\"0\"] td[data-rate=\"${arguments[0]}\"]`);"
                "return c ? c.textContent : null", direction)
            try:
                return float(text.replace(",", ""))
            except (AttributeError, ValueError):
                return 0.0
        wait.until(lambda d: worker_rate(d, "in") > 0 and worker_rate(d, "out") > 0)
        check(True, f"the workers table shows packets/s per worker while traffic is replayed "
                    f"(worker 0: {worker_rate(driver, 'in')} in, {worker_rate(driver, 'out')} out)")

        # The overview while traffic runs, once the chart has about 30 s of samples (bounded wait).
        driver.execute_script("window.scrollTo(0, 0)")
        WebDriverWait(driver, 40, poll_frequency=0.5).until(lambda d: d.execute_script(
            "return Math.min(...[...document.querySelectorAll('#chart-box polyline')]"
            ".map(l => l.getAttribute('points').split(' ').length))") >= 15)
        wait.until(lambda d: worker_rate(d, "in") > 0)
        driver.save_screenshot(str(out / "console-overview.png"))

        # Health: the probe's answers make 5001/10.1.6.20 up, the silent host's DIP down.
        def health(d, name):
            return d.execute_script(
                "const r = document.querySelector(`article[data-lb=\"blue-web\"] tr[data-backend=\"${arguments[0]}\"]`);"
                "return r ? r.children[1].textContent : null", name)
        wait.until(lambda d: health(d, "5001/10.1.6.20") == "up" and health(d, "5001/10.1.6.21") == "down")
        check(True, "probe health is shown: 5001/10.1.6.20 up, 5001/10.1.6.21 down")
        retry(lambda: driver.execute_script("arguments[0].scrollIntoView({block: 'start'})",
                                            driver.find_element(By.CSS_SELECTOR, 'article[data-lb="blue-web"]')))
        driver.save_screenshot(str(out / "console-load-balancer.png"))

        # Drain 5001/10.1.6.21 of blue-web from the UI.
        def click_drain():
            drain = driver.find_element(By.CSS_SELECTOR, 'article[data-lb="blue-web"] [aria-label="Drain 5001/10.1.6.21"]')
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", drain)
            drain.click()
        retry(click_drain)
        WebDriverWait(driver, 5).until(EC.alert_is_present()).accept()

        def weight_of(lb_name, name):
            document = json.loads(request("GET", "/v1/config", SECRET)[2])
            lb = next(l for l in document["load_balancers"] if l["name"] == lb_name)
            backend = next(b for b in lb["backends"] if f'{b["vsid"]}/{b["ca"]}' == name)
            return backend.get("weight", 1)

        deadline = time.monotonic() + 10
        while weight_of("blue-web", "5001/10.1.6.21") != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        check(weight_of("blue-web", "5001/10.1.6.21") == 0, "drain from the UI: GET /v1/config shows weight 0")
        wait.until(lambda d: d.find_element(
            By.CSS_SELECTOR, 'article[data-lb="blue-web"] [aria-label="Drain 5001/10.1.6.21"]'
        ).get_attribute("aria-pressed") == "true")
        check(True, "the DIP row shows it drained")

        # Traffic avoids it: the looping replay stops (its flows keep their DIPs, as a drain
        # lets existing flows finish), then new flows of every VIP — blue-web's UDP rule has no
        # probe, so only the weight keeps them off — reach the other DIP and never this one.
        def blue_web_packets():
            status = json.loads(request("GET", "/v1/status", SECRET)[2])
            lb = next(l for l in status["load_balancers"] if l["name"] == "blue-web")
            return {b["backend"]: b["packets"] for b in lb["backends"]}
        os.kill(int(os.environ["NVLB_CONSOLE_REPLAY_PID"]), signal.SIGKILL)
        time.sleep(1.5)  # the workers copy their counters out twice a second
        before = blue_web_packets()
        subprocess.run(["tcpreplay", "-q", "-i", "pa1", "--pps", "1000", os.environ["NVLB_CONSOLE_FRESH"]],
                       check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        after = blue_web_packets()
        while after["5001/10.1.6.20"] == before["5001/10.1.6.20"] and time.monotonic() < deadline:
            time.sleep(0.2)
            after = blue_web_packets()
        time.sleep(1.5)
        after = blue_web_packets()
        check(after["5001/10.1.6.20"] > before["5001/10.1.6.20"] and
              after["5001/10.1.6.21"] == before["5001/10.1.6.21"],
              f"new flows avoid the drained DIP: {before} -> {after}")

        # An invalid weight: the API's own message appears at the field.
        expected = json.loads(request("PATCH", "/v1/load-balancers/blue-web/backends/5001/10.1.6.20", SECRET,
                                      {"weight": 5000})[2])["errors"][0]["message"]
        selector = 'article[data-lb="blue-web"] [aria-label="Weight 5001/10.1.6.20"]'
        def focus_weight():
            field = driver.find_element(By.CSS_SELECTOR, selector)
            field.click()
            return field
        field = retry(focus_weight)  # focused: the list is not re-rendered while it is edited
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys("5000", Keys.ENTER)
        error_id = retry(lambda: driver.find_element(By.CSS_SELECTOR, selector).get_attribute("aria-describedby"))
        wait.until(lambda d: d.find_element(By.ID, error_id).text.strip() != "")
        shown = driver.find_element(By.ID, error_id).text
        check(expected in shown, f"weight 5000: the API's message is shown at the field ({shown!r})")
        check(retry(lambda: driver.find_element(By.CSS_SELECTOR, selector).get_attribute("aria-invalid")) == "true",
              "the field is marked invalid")
        check(weight_of("blue-web", "5001/10.1.6.20") == 1, "the refused change left the weight as it was")

        retry(lambda: driver.execute_script("arguments[0].scrollIntoView({block: 'start'})",
                                            driver.find_element(By.CSS_SELECTOR, 'article[data-lb="blue-web"]')))
        driver.save_screenshot(str(out / "console-weight-refused.png"))

        # Undrain restores the weight before draining.
        retry(lambda: driver.find_element(
            By.CSS_SELECTOR, 'article[data-lb="blue-web"] [aria-label="Drain 5001/10.1.6.21"]').click())
        deadline = time.monotonic() + 10
        while weight_of("blue-web", "5001/10.1.6.21") != 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        check(weight_of("blue-web", "5001/10.1.6.21") == 2, "undrain restores the previous weight (2)")

        # A lookup record: a new PA is saved; an invalid MAC is refused at the MAC field.
        def record_field(label):
            field = driver.find_element(By.CSS_SELECTOR, f'article[data-domain="red"] [aria-label="{label}"]')
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", field)
            field.click()
            return field

        field = retry(lambda: record_field("PA of 6001/10.1.6.22"))
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys("192.168.6.9", Keys.ENTER)

        def record(vsid, ca):
            document = json.loads(request("GET", "/v1/config", SECRET)[2])
            domain = next(d for d in document["routing_domains"] if d["name"] == "red")
            return next(r for r in domain["lookup_records"] if r["vsid"] == vsid and r["ca"] == ca)

        deadline = time.monotonic() + 10
        while record(6001, "10.1.6.22")["pa"] != "192.168.6.9" and time.monotonic() < deadline:
            time.sleep(0.1)
        check(record(6001, "10.1.6.22")["pa"] == "192.168.6.9", "a lookup record's PA changed in the UI is in GET /v1/config")
        field = retry(lambda: record_field("MAC of 6001/10.1.6.22"))
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys("not-a-mac", Keys.ENTER)
        error_id = retry(lambda: driver.find_element(
            By.CSS_SELECTOR, 'article[data-domain="red"] [aria-label="MAC of 6001/10.1.6.22"]').get_attribute("aria-describedby"))
        wait.until(lambda d: d.find_element(By.ID, error_id).text.strip() != "")
        check(record(6001, "10.1.6.22")["mac"] == "00:15:5d:02:06:22",
              f"an invalid MAC is refused at its field ({driver.find_element(By.ID, error_id).text!r})")

        # Add a lookup record, a backend that uses it, remove both (each asks first).
        def config_has(domain_name=None, lb_name=None, name="6001/10.1.6.23"):
            document = json.loads(request("GET", "/v1/config", SECRET)[2])
            if domain_name:
                domain = next(d for d in document["routing_domains"] if d["name"] == domain_name)
                return any(f'{r["vsid"]}/{r["ca"]}' == name for r in domain.get("lookup_records", []))
            lb = next(l for l in document["load_balancers"] if l["name"] == lb_name)
            return any(f'{b["vsid"]}/{b["ca"]}' == name for b in lb["backends"])

        def until(condition, message):
            deadline = time.monotonic() + 10
            while not condition() and time.monotonic() < deadline:
                time.sleep(0.1)
            check(condition(), message)

        def fill(container, values):
            *first, (label, last) = values
            for label_, value in first:
                field = retry(lambda: record_field_in(container, label_))
                field.send_keys(Keys.CONTROL, "a")
                field.send_keys(value)
            field = retry(lambda: record_field_in(container, label))
            field.send_keys(Keys.CONTROL, "a")
            field.send_keys(last, Keys.ENTER)

        def record_field_in(container, label):
            field = driver.find_element(By.CSS_SELECTOR, f'{container} [aria-label="{label}"]')
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", field)
            field.click()
            return field

        def click(selector):
            def action():
                button = driver.find_element(By.CSS_SELECTOR, selector)
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
                button.click()
            retry(action)

        fill('article[data-domain="red"]', [("New record VSID in red", "6001"), ("New record CA in red", "10.1.6.23"),
                                            ("New record PA in red", "192.168.6.8"),
                                            ("New record MAC in red", "00:15:5d:02:06:23")])
        until(lambda: config_has(domain_name="red"), "a lookup record added in the UI is in GET /v1/config")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'article[data-domain="red"] tr[data-record="6001/10.1.6.23"]'))
        check(True, "the new lookup record is listed")

        fill('article[data-lb="red-web"]', [("New backend VSID for red-web", "6001"),
                                            ("New backend CA for red-web", "10.1.6.23"),
                                            ("New backend weight for red-web", "3")])
        until(lambda: config_has(lb_name="red-web"), "a backend added in the UI is in GET /v1/config")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'article[data-lb="red-web"] tr[data-backend="6001/10.1.6.23"]'))
        check(weight_of("red-web", "6001/10.1.6.23") == 3, "the new backend is listed with weight 3")

        # The record is in use: its deletion is refused (409) next to the row's button.
        click('article[data-domain="red"] [aria-label="Delete 6001/10.1.6.23"]')
        WebDriverWait(driver, 5).until(EC.alert_is_present()).accept()
        row_error = 'article[data-domain="red"] tr[data-record="6001/10.1.6.23"] span[id$="-row-error"]'
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, row_error).text.strip() != "")
        check(config_has(domain_name="red"),
              f"a record in use is not deleted, the API's reason is at its row "
              f"({driver.find_element(By.CSS_SELECTOR, row_error).text!r})")

        # Remove asks first: declined, nothing changes; accepted, the backend goes.
        click('article[data-lb="red-web"] [aria-label="Remove 6001/10.1.6.23"]')
        WebDriverWait(driver, 5).until(EC.alert_is_present()).dismiss()
        time.sleep(0.5)
        check(config_has(lb_name="red-web"), "declining the confirmation keeps the backend")
        click('article[data-lb="red-web"] [aria-label="Remove 6001/10.1.6.23"]')
        alert = WebDriverWait(driver, 5).until(EC.alert_is_present())
        check("Remove backend 6001/10.1.6.23 from red-web" in alert.text, f"removal asks for confirmation ({alert.text!r})")
        alert.accept()
        until(lambda: not config_has(lb_name="red-web"), "a backend removed in the UI is gone from GET /v1/config")
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, 'article[data-lb="red-web"] tr[data-backend="6001/10.1.6.23"]'))

        click('article[data-domain="red"] [aria-label="Delete 6001/10.1.6.23"]')
        alert = WebDriverWait(driver, 5).until(EC.alert_is_present())
        check("Delete the lookup record 6001/10.1.6.23 of red" in alert.text, f"deletion asks for confirmation ({alert.text!r})")
        alert.accept()
        until(lambda: not config_has(domain_name="red"), "a lookup record deleted in the UI is gone from GET /v1/config")
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, 'article[data-domain="red"] tr[data-record="6001/10.1.6.23"]'))

        # Phone width: nothing wider than the screen (tables scroll inside their box).
        driver.set_window_size(390, 844)
        time.sleep(0.3)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        driver.save_screenshot(str(out / "console-phone.png"))
        check(overflow <= 0, f"readable at phone width (horizontal overflow {overflow}px)")
        driver.set_window_size(1280, 800)

        # A token that stops working (revoked, restarted server) returns to the login.
        driver.execute_script("sessionStorage.setItem('nvlb.token', 'revoked')")
        wait.until(lambda d: d.find_element(By.ID, "login").is_displayed())
        check("401" in driver.find_element(By.ID, "login-error").text, "a 401 returns to the login")

        problems = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
                    and not any(f"status of {code}" in entry["message"] for code in (401, 409, 422))]
        check(not problems, f"no console errors (CSP violations, exceptions): {problems}")
        return 0
    except (Failure, TimeoutException) as error:
        driver.save_screenshot(str(out / "console-failure.png"))
        print(f"FAIL {type(error).__name__}: {error}")
        for entry in driver.get_log("browser"):
            print("browser:", entry["message"])
        return 1
    finally:
        driver.quit()


def main():
    if sys.argv[1:] == ["--responder"]:
        return responder("pa1", "192.168.6.3", "10.1.6.20", "00:15:5d:01:06:20")
    if len(sys.argv) == 4 and sys.argv[1] == "--inner":
        return inner(sys.argv[2], sys.argv[3])
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    missing = [tool for tool in ("chromium", "chromedriver", "ip", "tcpreplay") if not shutil.which(tool)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python selenium")
    if missing or os.geteuid() != 0:
        print("cannot run: " + (f"missing {', '.join(missing)}" if missing else "needs root"))
        return 77
    return outer(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())

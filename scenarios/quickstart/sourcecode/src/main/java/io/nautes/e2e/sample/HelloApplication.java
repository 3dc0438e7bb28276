package io.nautes.e2e.sample;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The quickstart's sample service: answers every request with a greeting, so that the Deployment's
 * readiness probe on "/" passes. It needs nothing beyond the JDK, so the build has nothing to download.
 */
public final class HelloApplication {

    static final int PORT = 8080;
    static final String GREETING = "Hello from the nautes-e2e quickstart sample.\n";

    private HelloApplication() {
    }

    public static void main(String[] args) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(PORT), 0);
        server.createContext("/", exchange -> {
            byte[] body = GREETING.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }
}

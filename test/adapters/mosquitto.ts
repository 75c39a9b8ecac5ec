export { startMosquitto, type Broker } from '../../src/bench/mosquitto.js';
